// Package openapitest checks a service against its own OpenAPI document,
// for the service's tests: the document is valid OpenAPI 3.1, and the
// requests and responses that go over the wire match it.
//
// The checks use pb33f/libopenapi and libopenapi-validator, a validator
// independent of the openapi package that generated the document, with
// format assertions on (date-time, email, uuid, ...). A [Checker] wraps an
// http.RoundTripper so every response a test receives is checked, and
// records which documented operations the test exercised:
//
//	doc := openapitest.Fetch(t, baseURL+"/api/v1/openapi.json")
//	chk := openapitest.New(t, doc)
//	client := chk.Client()
//	resp, err := client.Get(baseURL + "/api/v1/posts/1") // checked
//	...
//	chk.RequireExercised() // every documented operation was called
//
// [ValidateResponses] does the same for a table of [Call]s. [Requests]
// generates requests from a document alone — its examples, minimal and
// full ones, one per optional parameter, and variants the document
// forbids (a required property missing, a null where none is allowed, a
// body without its Content-Type, a parameter out of its enum or bounds) —
// for a test that replays them and checks that the service answers each
// as the document says. A contract
// test over a whole service registers its routes, starts it (e.g. with
// servertest.Start), fetches each version's document and drives every
// route through the checked client, including its error cases: each
// response, error envelopes included, must match its documented schema.
//
// # Independence
//
// The generator (package openapi) and this checker share no code: a bug
// in how openapi writes schemas shows up here as a document or response
// that does not validate.
package openapitest
