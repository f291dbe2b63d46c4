package device

import (
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/internal/leakcheck"
)

// TestMain fails the package's tests when any of them leaves a goroutine
// running: the pool's workers must end with their rounds.
func TestMain(m *testing.M) { leakcheck.Main(m) }
