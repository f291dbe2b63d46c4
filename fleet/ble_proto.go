package fleet

import (
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Reading the car's protobuf state by field name. The car's messages wrap
// almost every field in a one-field oneof ("optional_battery_level"), so a
// field is present exactly when protoreflect's Has says so; reading them by
// name keeps the mapping in ble_data.go one table instead of a getter and a
// presence check per field. TestBLEFieldNamesExist guards the names.

// pbField returns the descriptor of field name in m, or nil.
func pbField(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	if m == nil || !m.IsValid() {
		return nil
	}
	return m.Descriptor().Fields().ByName(protoreflect.Name(name))
}

// pbNumber reads a numeric field as float64: nil when absent. float32
// values go through their shortest decimal form, so the car's 206.46 reads
// as 206.46 and not 206.4600067138672, as the same value in vehicle_data
// JSON would.
func pbNumber(m protoreflect.Message, name string) *float64 {
	fd := pbField(m, name)
	if fd == nil || !m.Has(fd) {
		return nil
	}
	v := m.Get(fd)
	var f float64
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		f = float64(v.Int())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		f = float64(v.Uint())
	case protoreflect.FloatKind:
		f, _ = strconv.ParseFloat(strconv.FormatFloat(v.Float(), 'g', -1, 32), 64)
	case protoreflect.DoubleKind:
		f = v.Float()
	case protoreflect.EnumKind:
		f = float64(v.Enum())
	default:
		return nil
	}
	return &f
}

// pbBool reads a bool field: nil when absent.
func pbBool(m protoreflect.Message, name string) *bool {
	fd := pbField(m, name)
	if fd == nil || !m.Has(fd) || fd.Kind() != protoreflect.BoolKind {
		return nil
	}
	b := m.Get(fd).Bool()
	return &b
}

// pbString reads a string field: nil when absent.
func pbString(m protoreflect.Message, name string) *string {
	fd := pbField(m, name)
	if fd == nil || !m.Has(fd) || fd.Kind() != protoreflect.StringKind {
		return nil
	}
	s := m.Get(fd).String()
	return &s
}

// pbMessage returns the sub-message in field name, or nil when absent.
func pbMessage(m protoreflect.Message, name string) protoreflect.Message {
	fd := pbField(m, name)
	if fd == nil || !m.Has(fd) || fd.Kind() != protoreflect.MessageKind {
		return nil
	}
	return m.Get(fd).Message()
}

// pbChoice reads the car's "one of several Void markers" messages
// (ChargingState{Charging{}}, ShiftState{P{}}): the name of the marker
// that is set, "" when the message or its marker is absent.
func pbChoice(m protoreflect.Message, name string) string {
	sub := pbMessage(m, name)
	if sub == nil {
		return ""
	}
	oneofs := sub.Descriptor().Oneofs()
	for i := range oneofs.Len() {
		if fd := sub.WhichOneof(oneofs.Get(i)); fd != nil {
			return string(fd.Name())
		}
	}
	return ""
}

// pbEnumName reads an enum field as its value's name, "" when absent.
func pbEnumName(m protoreflect.Message, name string) string {
	fd := pbField(m, name)
	if fd == nil || !m.Has(fd) || fd.Kind() != protoreflect.EnumKind {
		return ""
	}
	if ev := fd.Enum().Values().ByNumber(m.Get(fd).Enum()); ev != nil {
		return string(ev.Name())
	}
	return ""
}

// pbMillis reads a google.protobuf.Timestamp as Unix milliseconds, the
// unit of vehicle_data's "timestamp" fields.
func pbMillis(m protoreflect.Message, name string) *float64 {
	sub := pbMessage(m, name)
	if sub == nil {
		return nil
	}
	ts, ok := sub.Interface().(*timestamppb.Timestamp)
	if !ok {
		return nil
	}
	ms := float64(ts.AsTime().UnixMilli())
	return &ms
}
