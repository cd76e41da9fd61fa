package yarn_test

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestNMClientRefusesSimpleNodeManager: the downgrade: a
// NodeManager (or something at its address) answers SASL negotiation with
// "use SIMPLE". The NMClient holds an NMToken, so it refuses, and the
// startContainers call, with its container token, never leaves the
// process. Against a NodeManager that checks the NMToken, the same start
// goes through, authenticated with that token.
func TestNMClientRefusesSimpleNodeManager(t *testing.T) {
	nmTok := yarn.Token{Identifier: []byte("nm-token"), Password: []byte("nm-secret"), Kind: "NMToken"}
	var startedWith []byte
	methods := ipctest.Methods{
		"startContainers": func(c *ipctest.Call) ipctest.Reply {
			startedWith = c.TokenIdentifier
			return ipctest.Respond(&pb.StartContainersResponseProto{})
		},
	}
	simpleNM := ipctest.NewServer(t, methods)
	tokenNM := ipctest.NewServer(t, methods, ipctest.WithTokens(newTokenStore(nmTok).password))

	start := func(addr string) error {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		node := yarn.NodeID{Host: host, Port: int32(p)}
		nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: func(n yarn.NodeID) (yarn.Token, bool) { return nmTok, n == node }})
		if err != nil {
			t.Fatal(err)
		}
		defer nm.Close()
		ctr := yarn.Container{
			ID:     yarn.ContainerID{Attempt: yarn.ApplicationAttemptID{Application: yarn.ApplicationID{ClusterTimestamp: 1, ID: 1}, Attempt: 1}, ID: 2},
			NodeID: node,
			Token:  &yarn.Token{Identifier: []byte("container-token"), Password: []byte("container-secret"), Kind: "ContainerToken"},
		}
		return nm.Start(testCtx(t), ctr, yarn.ContainerLaunchContext{Commands: []string{"true"}})
	}

	err := start(simpleNM.Addr)
	var fe *ipc.SimpleFallbackError
	if !errors.As(err, &fe) || !errors.Is(err, yarn.ErrUnauthorized) {
		t.Errorf("start on a SIMPLE NodeManager: %v, want a refused SIMPLE fallback", err)
	}
	if n := simpleNM.Calls(""); n != 0 {
		t.Errorf("%d calls reached the SIMPLE NodeManager", n)
	}
	if err := start(tokenNM.Addr); err != nil {
		t.Fatalf("start on a NodeManager checking NMTokens: %v", err)
	}
	if !bytes.Equal(startedWith, nmTok.Identifier) {
		t.Errorf("started with token %q, want the NMToken", startedWith)
	}
}
