package models

import "errors"

// Sentinel errors. Adapters translate storage and engine errors into these; the
// API maps them to HTTP statuses in one place.
var (
	// ErrNotFound: the thing does not exist or the caller may not see it.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the action is not possible in the current stage (HTTP 409).
	ErrConflict = errors.New("not possible in the current stage")
	// ErrInvalid: the content breaks a rule (HTTP 422).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the role or the person may not do this (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrData: the database refused the content (a data or constraint
	// error): retrying cannot fix it.
	ErrData = errors.New("refused by the database")
	// ErrStale: a write of an action the workflow has put back since.
	ErrStale = errors.New("stale write")
	// ErrUnauthorized: no or an unknown credential (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
)

// Error codes carried across the Temporal boundary as the type of an
// ApplicationError, so the API can map an update rejection to a status.
const (
	CodeConflict  = "Conflict"
	CodeInvalid   = "Invalid"
	CodeForbidden = "Forbidden"
	CodeNotFound  = "NotFound"
)
