// Package siteconf reads a Hadoop client configuration directory: the
// core-site.xml, hdfs-site.xml, yarn-site.xml and mapred-site.xml files a
// cluster hands its clients, found through HADOOP_CONF_DIR or a given path.
// yarn and hdfs build their Config from the map it returns; both use its
// Expand and SplitList so that ${var} references and comma lists read the
// same way in each.
//
// Everything here is pure apart from Load, which reads files; nothing is
// cached and nothing is global.
package siteconf

import (
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// EnvVar names the environment variable that points at the configuration
// directory when no directory is given.
const EnvVar = "HADOOP_CONF_DIR"

// Files are the site files Load reads, in the order Hadoop's
// Configuration adds them: a later file overrides an earlier one unless
// the earlier marked the property <final>.
var Files = [...]string{"core-site.xml", "hdfs-site.xml", "yarn-site.xml", "mapred-site.xml"}

// Error is a configuration directory that cannot be used. Its message
// names the directory, where it came from and what to do.
type Error struct {
	Dir     string // the directory, as resolved ("" when none was given or set)
	FromEnv bool   // Dir came from HADOOP_CONF_DIR
	Msg     string
	Err     error // the underlying cause, if any
}

func (e *Error) Error() string {
	where := "configuration directory"
	if e.FromEnv {
		where = EnvVar
	}
	if e.Dir == "" {
		return where + ": " + e.Msg
	}
	return fmt.Sprintf("%s %s: %s", where, e.Dir, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Resolve returns dir, or HADOOP_CONF_DIR when dir is empty; fromEnv
// reports the latter. getenv is os.Getenv when nil.
func Resolve(dir string, getenv func(string) string) (resolved string, fromEnv bool, err error) {
	if dir != "" {
		return dir, false, nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if dir = getenv(EnvVar); dir == "" {
		return "", true, &Error{FromEnv: true, Msg: "not set; set it to the directory holding the cluster's core-site.xml, hdfs-site.xml and yarn-site.xml"}
	}
	return dir, true, nil
}

// Load reads the site files in dir (HADOOP_CONF_DIR when dir is empty)
// into one map of property names to raw values (${var} references are
// left for Expand). A directory that is missing, or holds none of the
// site files, is an *Error naming it.
func Load(dir string) (map[string]string, error) {
	dir, fromEnv, err := Resolve(dir, nil)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &Error{Dir: dir, FromEnv: fromEnv, Msg: "cannot be read; point it at the directory holding the cluster's *-site.xml files", Err: err}
	}
	if !st.IsDir() {
		return nil, &Error{Dir: dir, FromEnv: fromEnv, Msg: "is not a directory; point it at the directory holding the cluster's *-site.xml files"}
	}
	conf := map[string]string{}
	final := map[string]bool{}
	found := 0
	for _, name := range Files {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, &Error{Dir: dir, FromEnv: fromEnv, Msg: "cannot read " + name, Err: err}
		}
		props, err := parseCached(b)
		if err != nil {
			return nil, &Error{Dir: dir, FromEnv: fromEnv, Msg: name + " is not a Hadoop configuration file (" + err.Error() + "); fix it, or point " + EnvVar + " at the cluster's client configuration", Err: err}
		}
		found++
		for _, p := range props {
			if final[p.Name] {
				continue
			}
			conf[p.Name] = p.Value
			if p.Final {
				final[p.Name] = true
			}
		}
	}
	if found == 0 {
		return nil, &Error{Dir: dir, FromEnv: fromEnv, Msg: "holds none of " + strings.Join(Files[:], ", ") + "; point it at the cluster's client configuration"}
	}
	return conf, nil
}

// parsed holds the properties of the site files parsed so far, by their
// contents' SHA-256: a client loads the same files several times (its
// login, its YARN and its HDFS configuration), and a cluster's may hold
// thousands of properties (a quarter megabyte each, 70 ms or more to
// decode). Keyed by content, a changed file is parsed again.
var parsed sync.Map // [sha256.Size]byte -> []Property

// parseCached is Parse, once per distinct content. The slice returned is
// shared: callers read it only.
func parseCached(b []byte) ([]Property, error) {
	k := sha256.Sum256(b)
	if v, ok := parsed.Load(k); ok {
		return v.([]Property), nil
	}
	props, err := Parse(b)
	if err != nil {
		return nil, err
	}
	parsed.Store(k, props)
	return props, nil
}

// Property is one <property> of a site file.
type Property struct {
	Name  string
	Value string
	Final bool
}

type xmlConfiguration struct {
	XMLName    xml.Name `xml:"configuration"`
	Properties []struct {
		Name  string `xml:"name"`
		Value string `xml:"value"`
		Final string `xml:"final"`
	} `xml:"property"`
}

// Parse decodes one site file. Properties without a name are skipped;
// names and values are trimmed of surrounding white space, as Hadoop does.
func Parse(b []byte) ([]Property, error) {
	var c xmlConfiguration
	if err := xml.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	out := make([]Property, 0, len(c.Properties))
	for _, p := range c.Properties {
		name := strings.TrimSpace(p.Name)
		if name == "" {
			continue
		}
		out = append(out, Property{Name: name, Value: strings.TrimSpace(p.Value), Final: strings.EqualFold(strings.TrimSpace(p.Final), "true")})
	}
	return out, nil
}

// SplitList splits a comma-separated property value, dropping blanks.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var varRef = regexp.MustCompile(`\$\{([^}$]+)\}`)

// maxExpandDepth bounds ${var} substitution, so that a property that
// refers to itself ends (Hadoop bounds it too).
const maxExpandDepth = 20

// Expand replaces each ${name} in v with that property's value,
// recursively; unknown names stay as written.
func Expand(conf map[string]string, v string) string { return expand(conf, v, 0) }

func expand(conf map[string]string, v string, depth int) string {
	if depth > maxExpandDepth || !strings.Contains(v, "${") {
		return v
	}
	return varRef.ReplaceAllStringFunc(v, func(m string) string {
		name := m[2 : len(m)-1]
		if val, ok := conf[name]; ok {
			return expand(conf, val, depth+1)
		}
		return m
	})
}

// Get returns conf[key] with ${var} references expanded.
func Get(conf map[string]string, key string) string { return Expand(conf, conf[key]) }
