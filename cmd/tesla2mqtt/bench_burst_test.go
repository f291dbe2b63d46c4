package main

import (
	"context"
	"testing"
)

// The economy bench's command scenarios: a 3-key set and a burst of 8
// commands each cost one confirming read.
func TestBenchBurstsShareOneRead(t *testing.T) {
	rows, err := runBursts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %v", rows)
	}
	for _, r := range rows {
		if r.Commands != r.N || r.Reads != 1 {
			t.Errorf("%s: %d command requests, %d reads; want %d and 1", r.Name, r.Commands, r.Reads, r.N)
		}
	}
}
