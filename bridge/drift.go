package bridge

import (
	"reflect"
	"slices"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// keepLastGood prepares a successful vehicle_data read for merging: a field
// Tesla sent with an unexpected type keeps its last good value instead of
// turning unknown, and a block that was asked for but not returned (it keeps
// its last values through merge) is logged once per change, not every poll.
// Callers hold b.mu.
func (b *Bridge) keepLastGood(d *device, fresh *fleet.VehicleData, asked []fleet.Endpoint) {
	if fresh == nil {
		return
	}
	for _, path := range fresh.Dropped {
		copyJSONPath(reflect.ValueOf(&d.vehicle.Data).Elem(), reflect.ValueOf(fresh).Elem(), strings.Split(path, "."))
	}
	var missing []string
	v := reflect.ValueOf(fresh).Elem()
	for _, ep := range asked {
		if i, ok := jsonField(v.Type(), string(ep)); ok && v.Field(i).IsNil() {
			missing = append(missing, string(ep))
		}
	}
	slices.Sort(missing)
	key := strings.Join(missing, ",")
	if key != d.vehicle.missingBlocks {
		d.vehicle.missingBlocks = key
		if key != "" {
			b.log.Warn().Str("device", d.name).Strs("blocks", missing).Msg("vehicle_data lacked blocks; keeping their last values")
		}
	}
}

// copyJSONPath copies the field at the JSON path parts (struct tags) from
// src to dst, both structs of one type, when every block on the way exists.
func copyJSONPath(src, dst reflect.Value, parts []string) {
	for len(parts) > 0 {
		i, ok := jsonField(dst.Type(), parts[0])
		if !ok {
			return
		}
		sv, dv := src.Field(i), dst.Field(i)
		if len(parts) == 1 {
			if dv.CanSet() && sv.Type() == dv.Type() {
				dv.Set(sv)
			}
			return
		}
		if sv.Kind() == reflect.Pointer {
			if sv.IsNil() || dv.IsNil() {
				return
			}
			sv, dv = sv.Elem(), dv.Elem()
		}
		if sv.Kind() != reflect.Struct {
			return
		}
		src, dst, parts = sv, dv, parts[1:]
	}
}

// jsonField finds the index of the field whose JSON name is name.
func jsonField(t reflect.Type, name string) (int, bool) {
	if t.Kind() != reflect.Struct {
		return 0, false
	}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag == name && t.Field(i).Type.Kind() == reflect.Pointer {
			return i, true
		}
	}
	return 0, false
}
