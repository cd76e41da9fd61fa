package yarn

import (
	"context"
	"errors"
	"fmt"
)

// ErrQueueNotFound: the scheduler has no queue of that name.
var ErrQueueNotFound = errors.New("yarn: no such queue")

// queueInfoFunc is the queue call both RM clients make.
type queueInfoFunc func(ctx context.Context, queue string, children, recursive bool) (QueueInfo, error)

// QueueOptions chooses what Queue returns besides the queue itself. The
// zero value returns the queue alone.
type QueueOptions struct {
	// Children fills QueueInfo.Children with the queue's direct children.
	Children bool
	// Recursive, with Children, fills the children's children too, to the
	// leaves.
	Recursive bool
}

// Queue describes the scheduler queue named name ("default" or a full path
// such as "root.default"). A queue the scheduler does not know gives an
// error matching ErrQueueNotFound. Over REST, Statistics and Applications
// stay empty (the web services do not carry them).
func (c *RMClient) Queue(ctx context.Context, name string, o QueueOptions) (QueueInfo, error) {
	return queue(ctx, c.queueInfo, name, o)
}

// Queue describes the scheduler queue named name, as RMClient.Queue does.
func (c *RESTClient) Queue(ctx context.Context, name string, o QueueOptions) (QueueInfo, error) {
	return queue(ctx, c.queueInfo, name, o)
}

// Queues lists every queue of the scheduler, parents before their
// children, each with Children left empty (the list is flat; Path says
// where a queue sits).
func (c *RMClient) Queues(ctx context.Context) ([]QueueInfo, error) {
	return queues(ctx, c.queueInfo)
}

// Queues lists every queue of the scheduler, as RMClient.Queues does.
func (c *RESTClient) Queues(ctx context.Context) ([]QueueInfo, error) {
	return queues(ctx, c.queueInfo)
}

func queue(ctx context.Context, info queueInfoFunc, name string, o QueueOptions) (QueueInfo, error) {
	if name == "" {
		return QueueInfo{}, &OpError{Op: "queue info", Err: fmt.Errorf("%w: empty queue name", ErrQueueNotFound)}
	}
	q, err := info(ctx, name, o.Children, o.Children && o.Recursive)
	if err != nil {
		return QueueInfo{}, err
	}
	// The ResourceManager answers an unknown queue with an empty record (or
	// an error the transport already mapped), not with an exception.
	if q.Name == "" && q.Path == "" {
		return QueueInfo{}, &OpError{Op: "queue info", ID: name, Err: fmt.Errorf("%w %q: list the cluster's queues with Queues", ErrQueueNotFound, name)}
	}
	return q, nil
}

// rootQueue is the CapacityScheduler's and FairScheduler's top queue.
const rootQueue = "root"

func queues(ctx context.Context, info queueInfoFunc) ([]QueueInfo, error) {
	root, err := queue(ctx, info, rootQueue, QueueOptions{Children: true, Recursive: true})
	if err != nil {
		return nil, err
	}
	var out []QueueInfo
	var walk func(q QueueInfo, parent string)
	walk = func(q QueueInfo, parent string) {
		children := q.Children
		q.Children = nil
		if q.Path == "" {
			// Older schedulers send no path; build it from the tree.
			q.Path = q.Name
			if parent != "" {
				q.Path = parent + "." + q.Name
			}
		}
		out = append(out, q)
		for _, c := range children {
			walk(c, q.Path)
		}
	}
	walk(root, "")
	return out, nil
}
