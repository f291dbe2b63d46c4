// Package coalesce runs full republishes one at a time, folding every
// request that arrives meanwhile into at most one more run.
package coalesce
