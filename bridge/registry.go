package bridge

import (
	"context"
	"fmt"
)

// discover reads the products of the account, adds the devices it finds
// and removes those that left the account (removal.go).
func (b *Bridge) discover(ctx context.Context) error {
	products, err := b.fleet.Products(ctx)
	if err != nil {
		return fmt.Errorf("list products: %w", err)
	}
	var added []*device
	b.mu.Lock()
	removed := b.goneDevices(products)
	for _, p := range products {
		for _, f := range b.families {
			uid, build := f.adopt(p)
			if uid == "" {
				continue
			}
			if _, ok := b.byUID[uid]; !ok {
				d := build()
				b.bind(d)
				b.register(d)
				added = append(added, d)
			}
			break
		}
	}
	later := b.discovered
	b.discovered = true
	b.mu.Unlock()
	b.removeDevices(removed)
	for _, d := range added {
		b.log.Info().Str("device", d.name).Str("id", d.uid).Msg("device added")
		if later {
			b.publishDeviceEvent(EventDeviceAdded, d)
		}
		d.k.prime(ctx)
		b.publishDevice(d)
	}
	if len(added) > 0 || len(removed) > 0 {
		b.publishInfo()
	}
	return nil
}
