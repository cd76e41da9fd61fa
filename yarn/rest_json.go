package yarn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// The JSON the ResourceManager's REST API (/ws/v1/cluster) reads and
// writes, and its conversion to and from this package's types. Field names
// are those of Hadoop's JAXB DAOs (ApplicationSubmissionContextInfo,
// AppInfo, AppAttemptInfo, ...) as Hadoop 3.5.0 marshals them; the samples
// in testdata/rest were captured from a real RM.

// jsonList is a JAXB list. Hadoop 3 writes a list as an array; older RMs
// (Jersey 1 with Jettison) wrote a list of one as the bare object, so a
// single object is read as a list of one too.
type jsonList[T any] []T

func (l *jsonList[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]T)(l))
	}
	if string(b) == "null" {
		*l = nil
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = jsonList[T]{one}
	return nil
}

// jaxbMap is how JAXB writes a java.util.Map: {"entry":[{"key":..,"value":..}]}.
type jaxbMap[V any] struct {
	Entry jsonList[jaxbEntry[V]] `json:"entry"`
}

type jaxbEntry[V any] struct {
	Key   string `json:"key"`
	Value V      `json:"value"`
}

// newJAXBMap converts m with conv, in key order (so the JSON is stable);
// nil for an empty map.
func newJAXBMap[K ~string, V, W any](m map[K]V, conv func(V) (W, error)) (*jaxbMap[W], error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := &jaxbMap[W]{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w, err := conv(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out.Entry = append(out.Entry, jaxbEntry[W]{Key: string(k), Value: w})
	}
	return out, nil
}

func same[V any](v V) (V, error) { return v, nil }

// restResource is ResourceInfo. The RM reads only memory and vCores from a
// submission; in responses resourceInformations lists every type.
type restResource struct {
	Memory               int64                 `json:"memory"`
	VCores               int32                 `json:"vCores"`
	ResourceInformations *restResourceInfoList `json:"resourceInformations,omitempty"`
}

type restResourceInfoList struct {
	ResourceInformation jsonList[restResourceInformation] `json:"resourceInformation"`
}

type restResourceInformation struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

func (r restResource) toResource() Resource {
	out := Resource{MemoryMB: r.Memory, VCores: r.VCores}
	if r.ResourceInformations != nil {
		for _, ri := range r.ResourceInformations.ResourceInformation {
			if ri.Name == ResourceMemory || ri.Name == ResourceVCores || ri.Value == 0 {
				continue
			}
			if out.Custom == nil {
				out.Custom = map[string]int64{}
			}
			out.Custom[ri.Name] = ri.Value
		}
	}
	return out
}

// restRemoteException is the body of every error the RM's web services
// return.
type restRemoteException struct {
	RemoteException *struct {
		Exception     string `json:"exception"`
		Message       string `json:"message"`
		JavaClassName string `json:"javaClassName"`
	} `json:"RemoteException"`
}

// parseName returns the value of type T whose String() is name, or 0.
func parseName[T interface {
	~int32
	String() string
}](name string) T {
	if name == "" {
		return 0
	}
	for i := range T(32) {
		if i.String() == name {
			return i
		}
	}
	return 0
}
