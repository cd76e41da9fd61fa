package cluster

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// TestExchangeListenerInherited: the process a TaskManager became takes
// over the exchange listener by its descriptor, so its data address stays
// the one the JobManager handed out, and resumes after the command it
// was told.
func TestExchangeListenerInherited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The descriptor is handed over as an exec'd process inherits it: a
	// bare number nothing else here owns, since exchangeListener closes it
	// once it holds the listener. (Handing it f's own descriptor made f's
	// Close a second close of the number, by then another file's: a later
	// test's HTTP connection waited forever on a descriptor closed under it.)
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envListenerFD, strconv.Itoa(fd))
	t.Setenv(envAfter, "41")
	got, after, err := exchangeListener("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.Addr().String() != ln.Addr().String() || after != 41 {
		t.Errorf("inherited %s after %d, want %s after 41", got.Addr(), after, ln.Addr())
	}
	// The listener works: a connection made to the address is accepted.
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
		}
	}()
	c, err := got.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	// Without the variables: a fresh listener, after 0.
	t.Setenv(envListenerFD, "")
	fresh, after, err := exchangeListener("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if fresh.Addr().String() == ln.Addr().String() || after != 0 {
		t.Errorf("fresh listener %s after %d", fresh.Addr(), after)
	}
	t.Setenv(envListenerFD, "1")
	if _, _, err := exchangeListener("127.0.0.1"); err == nil {
		t.Error("stdout's descriptor was taken for a listener")
	}
}
