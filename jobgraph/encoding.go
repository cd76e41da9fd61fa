package jobgraph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// FormatVersion is the encoding format this package writes, and the
// newest it reads.
const FormatVersion = 1

// MaxEncodedSize bounds the bytes Decode accepts. A graph of thousands of
// vertices encodes to well under a megabyte.
const MaxEncodedSize = 16 << 20

// versionKey is the encoding's first key: it names the format and holds
// its version, so a reader learns both before anything else.
const versionKey = "spindle-jobgraph"

// Encode returns g's encoding: canonical JSON whose first key,
// "spindle-jobgraph", holds FormatVersion, and whose "graph" holds the
// graph. Equal graphs give equal bytes: map keys are sorted, empty maps
// and lists are left out like nil ones, zero custom resource amounts like
// absent ones, and durations are integer nanoseconds. Encode does not
// validate g; it fails only on what the encoding cannot carry exactly (a
// string that is not UTF-8, a NaN or infinite float).
func Encode(g *JobGraph) ([]byte, error) {
	w, err := toWire(g)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Operator names and config values are not HTML; keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wireEnvelope{Version: FormatVersion, Graph: w}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Decode parses an encoding Encode wrote. An encoding of a newer format
// version fails with a *VersionError (ErrUnsupportedVersion); anything
// else that is not a version-1 encoding fails with ErrEncoding. Decode
// checks the format, not the graph: call Validate on the result.
//
// Decode is safe on untrusted bytes: it reads at most MaxEncodedSize, and
// JSON carries no length prefixes, so nothing is allocated beyond what the
// input itself holds.
func Decode(b []byte) (*JobGraph, error) {
	if len(b) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d a job graph may take", ErrEncoding, len(b), MaxEncodedSize)
	}
	// First the version alone, leniently, so that a newer encoding (with
	// fields this binary does not know) gets the version error. Unmarshal
	// also refuses anything after the top-level value.
	var probe struct {
		Version *int `json:"spindle-jobgraph"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	switch {
	case probe.Version == nil:
		return nil, fmt.Errorf("%w: no %q version field; this is not an encoded job graph", ErrEncoding, versionKey)
	case *probe.Version > FormatVersion:
		return nil, &VersionError{Version: *probe.Version, Max: FormatVersion}
	case *probe.Version < 1:
		return nil, fmt.Errorf("%w: format version %d does not exist", ErrEncoding, *probe.Version)
	}

	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var env wireEnvelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	if env.Graph == nil {
		return nil, fmt.Errorf("%w: no \"graph\"", ErrEncoding)
	}
	return fromWire(env.Graph)
}

type wireEnvelope struct {
	Version int        `json:"spindle-jobgraph"`
	Graph   *wireGraph `json:"graph"`
}

// The wire types fix the format's field names, so renaming a Go field
// cannot change the encoding.
type wireGraph struct {
	ID       string            `json:"id,omitempty"`
	Name     string            `json:"name,omitempty"`
	Config   map[string]string `json:"config,omitempty"`
	Restart  *wireRestart      `json:"restart,omitempty"`
	Vertices []wireVertex      `json:"vertices,omitempty"`
	Edges    []wireEdge        `json:"edges,omitempty"`
}

type wireRestart struct {
	Kind           string  `json:"kind"`
	Attempts       int     `json:"attempts,omitempty"`
	DelayNS        int64   `json:"delay_ns,omitempty"`
	MaxFailures    int     `json:"max_failures,omitempty"`
	IntervalNS     int64   `json:"interval_ns,omitempty"`
	InitialDelayNS int64   `json:"initial_delay_ns,omitempty"`
	MaxDelayNS     int64   `json:"max_delay_ns,omitempty"`
	Multiplier     float64 `json:"multiplier,omitempty"`
	ResetAfterNS   int64   `json:"reset_after_ns,omitempty"`
	Jitter         float64 `json:"jitter,omitempty"`
}

type wireVertex struct {
	ID               string            `json:"id"`
	Operator         string            `json:"operator"`
	Parallelism      int               `json:"parallelism"`
	Resources        *wireResources    `json:"resources,omitempty"`
	SlotSharingGroup string            `json:"slot_sharing_group,omitempty"`
	Config           map[string]string `json:"config,omitempty"`
}

type wireResources struct {
	MemoryMB int64            `json:"memory_mb,omitempty"`
	VCores   int32            `json:"vcores,omitempty"`
	Custom   map[string]int64 `json:"custom,omitempty"`
}

type wireEdge struct {
	Source      string `json:"source"`
	Target      string `json:"target"`
	Partitioner string `json:"partitioner"`
}

func toWire(g *JobGraph) (*wireGraph, error) {
	var errs []error
	text := func(where, s string) string {
		if !utf8.ValidString(s) {
			errs = append(errs, fmt.Errorf("%w: %s %q is not UTF-8, which the encoding cannot carry exactly", ErrInvalid, where, s))
		}
		return s
	}
	config := func(where string, m map[string]string) map[string]string {
		if len(m) == 0 {
			return nil
		}
		for k, v := range m {
			text(where+" key", k)
			text(where+"["+k+"]", v)
		}
		return m
	}
	resources := func(where string, r Resources) *wireResources {
		w := wireResources{MemoryMB: r.MemoryMB, VCores: r.VCores}
		for k, v := range r.Custom {
			if v != 0 {
				if w.Custom == nil {
					w.Custom = make(map[string]int64)
				}
				w.Custom[text(where+" custom resource", k)] = v
			}
		}
		if w.MemoryMB == 0 && w.VCores == 0 && w.Custom == nil {
			return nil
		}
		return &w
	}

	w := &wireGraph{ID: text("ID", g.ID), Name: text("Name", g.Name), Config: config("Config", g.Config)}
	if r := g.Restart; r != (RestartStrategy{}) {
		if math.IsNaN(r.Multiplier) || math.IsInf(r.Multiplier, 0) || math.IsNaN(r.Jitter) || math.IsInf(r.Jitter, 0) {
			errs = append(errs, fmt.Errorf("%w: Restart has a NaN or infinite Multiplier or Jitter", ErrInvalid))
		}
		w.Restart = &wireRestart{
			Kind:           r.Kind.String(),
			Attempts:       r.Attempts,
			DelayNS:        int64(r.Delay),
			MaxFailures:    r.MaxFailures,
			IntervalNS:     int64(r.Interval),
			InitialDelayNS: int64(r.InitialDelay),
			MaxDelayNS:     int64(r.MaxDelay),
			Multiplier:     r.Multiplier,
			ResetAfterNS:   int64(r.ResetAfter),
			Jitter:         r.Jitter,
		}
		if int(r.Kind) >= len(restartKindNames) {
			errs = append(errs, fmt.Errorf("%w: unknown restart strategy %s", ErrInvalid, r.Kind))
		}
	}
	for i, v := range g.Vertices {
		where := fmt.Sprintf("vertex #%d", i)
		w.Vertices = append(w.Vertices, wireVertex{
			ID:               text(where+" ID", v.ID),
			Operator:         text(where+" Operator", v.Operator),
			Parallelism:      v.Parallelism,
			Resources:        resources(where, v.Resources),
			SlotSharingGroup: text(where+" SlotSharingGroup", v.SlotSharingGroup),
			Config:           config(where+" Config", v.Config),
		})
	}
	for i, e := range g.Edges {
		where := fmt.Sprintf("edge #%d", i)
		if int(e.Partitioner) >= len(partitionerNames) {
			errs = append(errs, fmt.Errorf("%w: %s has unknown partitioner %s", ErrInvalid, where, e.Partitioner))
		}
		w.Edges = append(w.Edges, wireEdge{
			Source:      text(where+" Source", e.Source),
			Target:      text(where+" Target", e.Target),
			Partitioner: e.Partitioner.String(),
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return w, nil
}

func fromWire(w *wireGraph) (*JobGraph, error) {
	config := func(m map[string]string) map[string]string {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	g := &JobGraph{ID: w.ID, Name: w.Name, Config: config(w.Config)}
	if r := w.Restart; r != nil {
		kind, ok := parseRestartKind(r.Kind)
		if !ok {
			return nil, fmt.Errorf("%w: unknown restart strategy %q", ErrEncoding, r.Kind)
		}
		g.Restart = RestartStrategy{
			Kind:         kind,
			Attempts:     r.Attempts,
			Delay:        time.Duration(r.DelayNS),
			MaxFailures:  r.MaxFailures,
			Interval:     time.Duration(r.IntervalNS),
			InitialDelay: time.Duration(r.InitialDelayNS),
			MaxDelay:     time.Duration(r.MaxDelayNS),
			Multiplier:   r.Multiplier,
			ResetAfter:   time.Duration(r.ResetAfterNS),
			Jitter:       r.Jitter,
		}
	}
	for _, v := range w.Vertices {
		vx := Vertex{
			ID:               v.ID,
			Operator:         v.Operator,
			Parallelism:      v.Parallelism,
			SlotSharingGroup: v.SlotSharingGroup,
			Config:           config(v.Config),
		}
		if r := v.Resources; r != nil {
			vx.Resources = Resources{MemoryMB: r.MemoryMB, VCores: r.VCores}
			for k, n := range r.Custom {
				vx.Resources.setCustom(k, n)
			}
		}
		g.Vertices = append(g.Vertices, vx)
	}
	for i, e := range w.Edges {
		p, ok := parsePartitioner(e.Partitioner)
		if !ok {
			return nil, fmt.Errorf("%w: edge #%d has unknown partitioner %q", ErrEncoding, i, e.Partitioner)
		}
		g.Edges = append(g.Edges, Edge{Source: e.Source, Target: e.Target, Partitioner: p})
	}
	return g, nil
}
