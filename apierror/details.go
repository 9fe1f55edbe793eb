package apierror

// FieldError is one entry of the details of a request that failed binding or
// validation (types "validation_error" and "invalid_parameter", and a path
// parameter's 404): the field by its JSON or parameter name, the rule it
// broke (a validate tag such as "required" or "min", or "type"), and what is
// wrong, safe to show to the client.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Problem is one entry of the details of a refused crud query, patch or
// value (types "invalid_query", "invalid_patch" and "invalid_value"): the
// field (query parameter, patch key or column) and what is wrong with it.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// MissingPermission is one entry of the details of a 403 from auth's scope
// and role guards (types "insufficient_scope" and "forbidden"): a scope or
// role the principal lacks, or "superuser".
type MissingPermission struct {
	Missing string `json:"missing"`
}
