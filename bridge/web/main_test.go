package web

import (
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/internal/leakcheck"
)

// TestMain fails the package's tests when any of them leaves a goroutine
// running: everything started must have an owner that ends it.
func TestMain(m *testing.M) { leakcheck.Main(m) }
