package server

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3.1 document, written by hand; a test
// checks that it names every route and no other.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ Token) error {
	w.WriteHeader(http.StatusOK)
	w.Write(openAPI)
	return nil
}
