package entity

import (
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Spec is one row of a table with its view type erased: Compile builds it
// once per table and every device of the kind shares it, so a device keeps
// pointers to the rows it offers, never copies of their settings. The view
// handed to its methods must be the one its table reads (the bridge keeps
// one per device).
type Spec struct {
	Meta
	value   func(view any) any
	command func(payload, view any) (fleet.Command, error)
	signal  string
	apply   func(view any, v TelemetryValue) bool
}

// Compile erases the view type of a table's rows.
func Compile[D any](rows []Entity[D]) []*Spec {
	out := make([]*Spec, 0, len(rows))
	for _, r := range rows {
		s := &Spec{Meta: r.Meta}
		if r.Value != nil {
			s.value = func(view any) any { return present(r.Value(view.(D))) }
		}
		if r.Command != nil {
			s.command = func(payload, view any) (fleet.Command, error) { return r.Command(payload, view.(D)) }
		}
		if t := r.Telemetry; t.Field != "" && t.Apply != nil {
			s.signal = t.Field
			s.apply = func(view any, v TelemetryValue) bool { return t.Apply(view.(D), v) }
		}
		out = append(out, s)
	}
	return out
}

// Value is the row's value for view: a plain value, or nil when absent.
func (s *Spec) Value(view any) any {
	if s.value == nil {
		return nil
	}
	return s.value(view)
}

// Writable reports whether the row takes commands.
func (s *Spec) Writable() bool { return s.command != nil }

// Command turns a set payload into the row's Fleet API command. It returns
// a *PayloadError for input it refuses (callers check Writable first).
func (s *Spec) Command(payload, view any) (fleet.Command, error) {
	if s.command == nil {
		return fleet.Command{}, invalid("%s is read-only", s.Key)
	}
	return s.command(payload, view)
}

// CommandGroup is the group of cmd for [commands] allow/deny: the row's
// Group, refined by its GroupOf.
func (s *Spec) CommandGroup(cmd fleet.Command) string {
	if s.Meta.GroupOf != nil {
		if g := s.Meta.GroupOf(cmd); g != "" {
			return g
		}
	}
	return s.Group
}

// Signal is the Fleet Telemetry field that feeds the row ("" for none).
func (s *Spec) Signal() string { return s.signal }

// ApplySignal writes a received value of Signal into view; false means the
// value could not be read and the field keeps its last value.
func (s *Spec) ApplySignal(view any, v TelemetryValue) bool {
	if s.apply == nil {
		return false
	}
	return s.apply(view, v)
}
