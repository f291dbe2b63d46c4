package entity

import "fmt"

// CodeInvalidPayload is the result code of a value a row's command refuses;
// the command package owns the closed set of result codes and uses this one.
const CodeInvalidPayload = "invalid_payload"

// PayloadError is returned by a CommandFunc for input it refuses; the
// bridge publishes it as an error result without calling Tesla.
type PayloadError struct {
	Code    string // CodeInvalidPayload, or a code of the command package
	Message string
}

// Error implements error with the message meant for the user.
func (e *PayloadError) Error() string { return e.Message }

// invalid builds an invalid_payload error.
func invalid(format string, a ...any) *PayloadError {
	return &PayloadError{Code: CodeInvalidPayload, Message: fmt.Sprintf(format, a...)}
}
