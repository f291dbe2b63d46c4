package entity

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

// Command adapters: the building blocks of the Command column of the entity
// tables. Each one accepts both payload forms the bridge hands it — the bare
// string of set/<key> ("80", "ON", "PRESS", an option) and the JSON-decoded
// value of the set object (float64, bool, string) — so Home Assistant,
// Node-RED and mosquitto_pub users get the same behaviour.
//
// Adapter errors are phrased as predicates ("must be a whole number from 50
// to 100, got 120"); keyCommands prefixes the row's key, so the user reads
// "charge_limit must be …" without every row repeating its key.

// Bound is one end of a number range. Most are fixed; some come from the
// car (the charge current maximum), so a bound may read the current view.
type Bound[D any] func(d D) float64

// fixed is a constant Bound.
func fixed[D any](v float64) Bound[D] { return func(D) float64 { return v } }

// onOff maps ON/OFF to two commands without parameters (charge_start /
// charge_stop).
func onOff[D any](onName, offName string) CommandFunc[D] {
	return func(v any, _ D) (fleet.Command, error) {
		on, err := adapterBool(v)
		if err != nil {
			return fleet.Command{}, err
		}
		if on {
			return adapterCmd(onName), nil
		}
		return adapterCmd(offName), nil
	}
}

// onOffParam maps ON/OFF to one command with a boolean parameter
// (set_sentry_mode {"on": true}); extra parameters are sent as given
// (set_preconditioning_max also wants "manual_override": true).
func onOffParam[D any](name, param string, extra map[string]any) CommandFunc[D] {
	return func(v any, _ D) (fleet.Command, error) {
		on, err := adapterBool(v)
		if err != nil {
			return fleet.Command{}, err
		}
		p := adapterParams(extra)
		p[param] = on
		return fleet.Command{Name: name, Params: p}, nil
	}
}

// lockUnlock is the lock platform: LOCK / UNLOCK (and true/false, which
// mean locked or not, like the state).
func lockUnlock[D any](lockName, unlockName string) CommandFunc[D] {
	return func(v any, _ D) (fleet.Command, error) {
		switch x := v.(type) {
		case bool:
			if x {
				return adapterCmd(lockName), nil
			}
			return adapterCmd(unlockName), nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "lock", "true", "locked":
				return adapterCmd(lockName), nil
			case "unlock", "false", "unlocked":
				return adapterCmd(unlockName), nil
			}
		}
		return fleet.Command{}, invalid("must be LOCK or UNLOCK, got %s", adapterShow(v))
	}
}

// openClose is the cover platform: OPEN / CLOSE (and ON/OFF, true/false).
func openClose[D any](openName, closeName string) CommandFunc[D] {
	return func(v any, _ D) (fleet.Command, error) {
		if s, isStr := v.(string); isStr {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "open":
				return adapterCmd(openName), nil
			case "close":
				return adapterCmd(closeName), nil
			}
		}
		on, err := adapterBool(v)
		if err != nil {
			return fleet.Command{}, invalid("must be OPEN or CLOSE, got %s", adapterShow(v))
		}
		if on {
			return adapterCmd(openName), nil
		}
		return adapterCmd(closeName), nil
	}
}

// modeSwitch is an on/off pair driven by a mode name (the climate entity
// sends "heat_cool" or "off"); ON/OFF and true/false work too.
func modeSwitch[D any](onMode, onName, offName string) CommandFunc[D] {
	return func(v any, _ D) (fleet.Command, error) {
		if s, isStr := v.(string); isStr && strings.EqualFold(strings.TrimSpace(s), onMode) {
			return adapterCmd(onName), nil
		}
		on, err := adapterBool(v)
		if err != nil {
			return fleet.Command{}, invalid("must be %s or off, got %s", onMode, adapterShow(v))
		}
		if on {
			return adapterCmd(onName), nil
		}
		return adapterCmd(offName), nil
	}
}

// press is a button: the payload must be PRESS (any case) or true, so a
// stray "OFF" or false never honks the horn.
func press[D any](name string, params map[string]any) CommandFunc[D] {
	return pressWith[D](name, func(D) map[string]any { return adapterParams(params) })
}

// pressWith is a button whose parameters come from the car (window_control
// needs the car's position).
func pressWith[D any](name string, params func(D) map[string]any) CommandFunc[D] {
	return func(v any, d D) (fleet.Command, error) {
		switch x := v.(type) {
		case bool:
			if x {
				return fleet.Command{Name: name, Params: params(d)}, nil
			}
		case string:
			if strings.EqualFold(strings.TrimSpace(x), "press") {
				return fleet.Command{Name: name, Params: params(d)}, nil
			}
		}
		return fleet.Command{}, invalid("must be PRESS, got %s", adapterShow(v))
	}
}

// intParam is a number Tesla wants as an integer (percent, amps): a
// fraction or a value outside [lo, hi] is refused before any Fleet call.
func intParam[D any](name, param string, lo, hi Bound[D]) CommandFunc[D] {
	return numParam(name, param, lo, hi, true, nil)
}

// floatParam is a number Tesla takes as a float (temperatures).
func floatParam[D any](name, param string, lo, hi Bound[D]) CommandFunc[D] {
	return numParam(name, param, lo, hi, false, nil)
}

// numParam is intParam / floatParam with optional extra parameters computed
// from the car and the new value (set_temps sends both seats).
func numParam[D any](name, param string, lo, hi Bound[D], whole bool,
	extra func(d D, v float64) map[string]any) CommandFunc[D] {
	return func(v any, d D) (fleet.Command, error) {
		lower, upper := lo(d), hi(d)
		kind := "a number"
		if whole {
			kind = "a whole number"
		}
		f, err := adapterNumber(v)
		if err != nil || f < lower || f > upper || (whole && f != math.Trunc(f)) {
			got := adapterShow(v)
			if err == nil {
				got = adapterFmt(f)
			}
			return fleet.Command{}, invalid("must be %s from %s to %s, got %s",
				kind, adapterFmt(lower), adapterFmt(upper), got)
		}
		p := map[string]any{}
		if extra != nil {
			p = extra(d, f)
		}
		if whole {
			p[param] = int(f)
		} else {
			p[param] = f
		}
		return fleet.Command{Name: name, Params: p}, nil
	}
}

// Choice is one option of a select and the parameters it sends.
type Choice struct {
	Option string
	Params map[string]any
}

// choice is a select: each option (matched case-insensitively) sends the
// fixed parameters plus its own. The table uses choiceOptions(opts) for the
// row's Options, so the offered list and the accepted list cannot drift.
func choice[D any](name string, fixedParams map[string]any, opts []Choice) CommandFunc[D] {
	return func(v any, _ D) (fleet.Command, error) {
		if s, isStr := v.(string); isStr {
			for _, o := range opts {
				if strings.EqualFold(strings.TrimSpace(s), o.Option) {
					p := adapterParams(fixedParams)
					for k, x := range o.Params {
						p[k] = x
					}
					return fleet.Command{Name: name, Params: p}, nil
				}
			}
		}
		return fleet.Command{}, invalid("must be one of %s, got %s",
			strings.Join(choiceOptions(opts), ", "), adapterShow(v))
	}
}

// choiceOptions lists the option names in order.
func choiceOptions(opts []Choice) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.Option
	}
	return out
}

// keyCommands prefixes every PayloadError of a table's commands with the
// row's key, so messages name what the user sent ("charge_limit must be …").
func keyCommands[D any](rows []Entity[D]) []Entity[D] {
	for i := range rows {
		fn, key := rows[i].Command, rows[i].Key
		if fn == nil {
			continue
		}
		rows[i].Command = func(v any, d D) (fleet.Command, error) {
			c, err := fn(v, d)
			if pe, isPE := err.(*PayloadError); isPE {
				return c, &PayloadError{Code: pe.Code, Message: key + " " + pe.Message}
			}
			return c, err
		}
	}
	return rows
}

// adapterBool reads ON/OFF, on/off, true/false, 1/0 (any case) or a JSON
// bool or 0/1 number.
func adapterBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case float64:
		if x == 1 || x == 0 {
			return x == 1, nil
		}
	case int:
		if x == 1 || x == 0 {
			return x == 1, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "on", "true", "1":
			return true, nil
		case "off", "false", "0":
			return false, nil
		}
	}
	return false, invalid("must be ON or OFF, got %s", adapterShow(v))
}

// adapterNumber reads a JSON number or a numeric string; NaN and ±Inf are
// not numbers a car can use.
func adapterNumber(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, invalid("not a number")
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, invalid("not a number")
		}
	default:
		return 0, invalid("not a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, invalid("not a number")
	}
	return f, nil
}

// adapterCmd is a command without parameters. Params is an empty map, never
// nil: a nil map would go to Tesla as the body "null", which is not the JSON
// object the command endpoint wants.
func adapterCmd(name string) fleet.Command {
	return fleet.Command{Name: name, Params: map[string]any{}}
}

// adapterParams copies a parameter map, so a command never shares a map
// with the table (the executor may add to it).
func adapterParams(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// adapterShow renders a refused payload for an error message: strings
// quoted, numbers plain, anything long cut short.
func adapterShow(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		if r := []rune(x); len(r) > 40 {
			x = string(r[:40]) + "…"
		}
		s = strconv.Quote(x)
	case float64:
		s = adapterFmt(x)
	case nil:
		s = "null"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			b = []byte(fmt.Sprintf("%T", x))
		}
		s = string(b)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
	}
	return s
}

func adapterFmt(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
