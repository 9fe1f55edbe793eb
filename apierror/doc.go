// Package apierror is the error contract of Gantry's HTTP surface: the one
// error type that carries an HTTP status, an envelope type, a public message
// and details ([Error]), the interfaces the server's error envelope is
// rendered by ([HTTPStatuser], [ErrorTyper], [ErrorDetailer],
// [PublicMessager], and all four together, [Interface]), and the shapes an
// envelope's "details" may take ([FieldError], [Problem],
// [MissingPermission]).
//
// It imports only the standard library (not even net/http), so every package
// that returns client errors (server, middleware, auth, crud, jobs, and your
// own) can use it without importing the server or each other.
//
// # Sentinels are values nobody can alter
//
// An [*Error]'s fields are unexported. [New] builds one, and the With
// methods return a changed copy that still matches the original with
// [errors.Is], so a package can export sentinels such as crud.ErrNotFound
// and hand out variants of them:
//
//	var ErrNotFound = apierror.New(404, "not found").WithOrigin("shop")
//
//	return ErrNotFound.WithMessage("order 7 not found").Wrap(err)
//
// # Details
//
// An envelope's "details" is an array of one shape per error: [FieldError]
// for request binding and validation, [Problem] for crud's refused queries,
// patches and values, [MissingPermission] for auth's scope and role guards.
// The OpenAPI document describes all three.
package apierror
