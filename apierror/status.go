package apierror

import "strings"

// TypeForStatus returns the default envelope type of an HTTP status:
// "bad_request", "unauthorized", "forbidden", "not_found",
// "method_not_allowed", "conflict", "payload_too_large",
// "unsupported_media_type", "validation_error" (422), "rate_limited" (429),
// "service_unavailable", "timeout" (504) and "internal_error" (any other
// 5xx); another 4xx gets its status text in snake case, e.g. "gone".
func TypeForStatus(status int) string {
	switch status {
	case 400:
		return "bad_request"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 405:
		return "method_not_allowed"
	case 409:
		return "conflict"
	case 413:
		return "payload_too_large"
	case 415:
		return "unsupported_media_type"
	case 422:
		return "validation_error"
	case 429:
		return "rate_limited"
	case 503:
		return "service_unavailable"
	case 504:
		return "timeout"
	}
	if status >= 500 {
		return "internal_error"
	}
	return strings.ToLower(strings.ReplaceAll(statusText[status], " ", "_"))
}

// statusText holds net/http's status texts of the other 4xx codes, so that
// this package needs no net/http (package jobs imports it and stays free of
// net/http).
var statusText = map[int]string{
	402: "Payment Required",
	406: "Not Acceptable",
	407: "Proxy Authentication Required",
	408: "Request Timeout",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	414: "Request URI Too Long",
	416: "Requested Range Not Satisfiable",
	417: "Expectation Failed",
	418: "I'm a teapot",
	421: "Misdirected Request",
	423: "Locked",
	424: "Failed Dependency",
	425: "Too Early",
	426: "Upgrade Required",
	428: "Precondition Required",
	431: "Request Header Fields Too Large",
	451: "Unavailable For Legal Reasons",
}
