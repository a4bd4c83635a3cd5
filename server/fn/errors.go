// Package fn is the function layer: the registry of Opencom's functions by
// "module:function" name, argument validators (a Go version of Convex's v.*),
// structured errors, and the execution context handed to each function.
package fn

import (
	"errors"
	"fmt"

	"github.com/opencom-go/opencom/sqlstore"
)

// Error codes of the API (seeds/opencom-backend-api.txt).
const (
	NotAuthenticated   = "NOT_AUTHENTICATED"
	SessionExpired     = "SESSION_EXPIRED"
	NotAuthorized      = "NOT_AUTHORIZED"
	PermissionDenied   = "PERMISSION_DENIED"
	NotWorkspaceMember = "NOT_WORKSPACE_MEMBER"
	NotFound           = "NOT_FOUND"
	AlreadyExists      = "ALREADY_EXISTS"
	InvalidInput       = "INVALID_INPUT"
	RateLimited        = "RATE_LIMITED"
	InternalError      = "INTERNAL_ERROR"
)

// Error is a function failure the caller sees as a ConvexError whose data
// is {code, message} (plus Extra fields).
type Error struct {
	Code    string
	Message string
	Extra   map[string]any
}

func (e *Error) Error() string { return e.Message }

// Data is the errorData sent to the client.
func (e *Error) Data() map[string]any {
	d := map[string]any{"code": e.Code, "message": e.Message}
	for k, v := range e.Extra {
		d[k] = v
	}
	return d
}

// Errorf makes an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common shorthands.
func ErrNotAuthenticated() *Error { return Errorf(NotAuthenticated, "Not authenticated") }
func ErrNotFound(what string) *Error {
	return Errorf(NotFound, "%s not found", what)
}
func ErrInvalid(format string, args ...any) *Error { return Errorf(InvalidInput, format, args...) }

// AsError maps any error returned by a function to what the client sees:
// known errors keep their code; store errors get a matching code; anything
// else is an internal error whose details stay in the server log.
func AsError(err error) (*Error, bool) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe, true
	}
	if errors.Is(err, sqlstore.ErrInvalidCursor) {
		return &Error{Code: InvalidInput, Message: "InvalidCursor: the pagination cursor is not valid", Extra: map[string]any{"paginationError": "InvalidCursor"}}, true
	}
	if errors.Is(err, sqlstore.ErrNotFound) {
		return Errorf(NotFound, "Document not found"), true
	}
	return nil, false
}
