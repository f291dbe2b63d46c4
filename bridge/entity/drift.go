package entity

import (
	"reflect"
	"slices"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// KeepLastGood prepares a successful vehicle_data read for Merge: a field
// Tesla sent with an unexpected type (fleet reports its path in Dropped)
// keeps the view's last good value instead of turning unknown. It returns
// the asked-for blocks the read lacked, sorted, which keep their last
// values through Merge.
func (v *VehicleView) KeepLastGood(fresh *fleet.VehicleData, asked []fleet.Endpoint) (missing []string) {
	if fresh == nil {
		return nil
	}
	for _, path := range fresh.Dropped {
		copyJSONPath(reflect.ValueOf(&v.Data).Elem(), reflect.ValueOf(fresh).Elem(), strings.Split(path, "."))
	}
	fv := reflect.ValueOf(fresh).Elem()
	for _, ep := range asked {
		if i, ok := jsonField(fv.Type(), string(ep)); ok && fv.Field(i).IsNil() {
			missing = append(missing, string(ep))
		}
	}
	slices.Sort(missing)
	return missing
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
