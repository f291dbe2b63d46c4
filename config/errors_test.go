package config

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestErrorOnePerLine(t *testing.T) {
	e := &Error{Problems: []Problem{
		{Key: "mqtt.url", Message: `unknown scheme`},
		{Key: "vehicle[1].vin", Message: "must be 17 characters, got 3"},
		{Message: "line 3: bad syntax"},
	}}
	want := "mqtt.url: unknown scheme\nvehicle[1].vin: must be 17 characters, got 3\nline 3: bad syntax"
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestProblems(t *testing.T) {
	ps := []Problem{{Key: "a", Message: "b"}}
	tests := []struct {
		name string
		err  error
		want []Problem
	}{
		{"nil", nil, nil},
		{"error", &Error{Problems: ps}, ps},
		{"wrapped", fmt.Errorf("load: %w", &Error{Problems: ps}), ps},
		{"other", errors.New("boom"), []Problem{{Message: "boom"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Problems(tt.err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Problems() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// Validate must return a nil error, not a nil *Error in an interface.
func TestValidateNilWhenValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() is invalid:\n%v", err)
	}
}
