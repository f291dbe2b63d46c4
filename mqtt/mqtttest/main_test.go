package mqtttest

import (
	"testing"

	"github.com/tesla2mqtt/tesla2mqtt/internal/leakcheck"
)

// TestMain fails the package's tests when the proxy leaves a goroutine behind.
func TestMain(m *testing.M) { leakcheck.Main(m) }
