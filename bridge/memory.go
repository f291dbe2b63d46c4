package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/tesla2mqtt/tesla2mqtt/bridge/device"
	"github.com/tesla2mqtt/tesla2mqtt/internal/atomicfile"
)

// The devices' memory in the state directory (Options.MemoryPath): what
// each device knew, so a restart publishes a sleeping car's last values
// instead of nulls. It is read once in New, before the first publish, and
// written after connectivity checks when it changed and at shutdown.

// maxMemoryBytes bounds the memory file: a car's blocks are a few KiB, so
// this holds hundreds of devices; a bigger file is neither read nor written.
const maxMemoryBytes = 4 << 20

// memoryFile is the file's layout.
type memoryFile struct {
	Version int                      `json:"version"`
	Devices map[string]device.Memory `json:"devices"`
	// DeviceDiscovery lists the devices whose discovery was moved to a
	// device config (package discovery).
	DeviceDiscovery []string `json:"device_discovery,omitempty"`
}

// loadMemory reads the memory file; a missing file is an empty memory, a
// damaged or oversized one is logged and ignored.
func (b *Bridge) loadMemory() map[string]device.Memory {
	path := b.opts.MemoryPath
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		b.log.Warn().Err(err).Msg("cannot read the devices' memory; starting without it")
		return nil
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxMemoryBytes+1))
	if err == nil && len(raw) > maxMemoryBytes {
		err = errors.New("the file is larger than 4 MiB")
	}
	var mf memoryFile
	if err == nil {
		err = json.Unmarshal(raw, &mf)
	}
	if err != nil {
		b.log.Warn().Err(err).Str("path", path).Msg("cannot use the devices' memory; starting without it")
		return nil
	}
	b.mu.Lock()
	b.savedMemory = raw
	b.mu.Unlock()
	b.disc.Restore(mf.DeviceDiscovery)
	return mf.Devices
}

// recall is the registry's Options.Recall over what loadMemory read.
func recall(mem map[string]device.Memory) func(uid string) (device.Memory, bool) {
	return func(uid string) (device.Memory, bool) {
		m, ok := mem[uid]
		return m, ok
	}
}

// saveMemory writes the devices' memory when it changed since the last
// write. The file holds vehicle data, so it is private (0600) like the
// token.
func (b *Bridge) saveMemory() {
	path := b.opts.MemoryPath
	if path == "" {
		return
	}
	raw, err := json.Marshal(memoryFile{Version: 1, Devices: b.reg.Memories(), DeviceDiscovery: b.disc.Migrated()})
	if err != nil {
		b.log.Warn().Err(err).Msg("cannot encode the devices' memory")
		return
	}
	b.mu.Lock()
	same := bytes.Equal(raw, b.savedMemory)
	b.mu.Unlock()
	if same {
		return
	}
	if len(raw) > maxMemoryBytes {
		b.log.Warn().Int("bytes", len(raw)).Msg("the devices' memory is larger than 4 MiB; not saved")
		return
	}
	if err := atomicfile.Write(path, raw, 0o600); err != nil {
		b.log.Warn().Err(err).Msg("cannot save the devices' memory")
		return
	}
	b.mu.Lock()
	b.savedMemory = raw
	b.mu.Unlock()
}
