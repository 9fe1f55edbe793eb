// Package crudtest holds test doubles for package crud, as net/http/httptest
// does for net/http.
//
// # Memory store
//
// [MemStore] is an in-memory [crud.Store] with the same semantics as
// [crud.Repository]: validation, errors, soft delete, versions, sort order
// and signed cursors. It runs crud's own engine (column layout, value
// conversion, filter checks, cursors) and differs only in storage, so its
// answers match the repository's word for word. Handler tests use it where
// no database is wanted.
//
// # Conformance suite
//
// [RunStoreTests] checks that a store behaves as crud.Store promises; crud's
// own tests run it against PostgreSQL, SQLite and [MemStore]. A store of
// your own (a caching wrapper, another database) can run it too: create the
// table with [FixtureSchema] and configure the store with
// [FixtureConfig].
//
// The package imports only crud (and crud's internal engine), the standard
// library and testing.
package crudtest
