package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// AvatarForm is a multipart/form-data body: a file and a text field.
type AvatarForm struct {
	Image openapi.File `form:"image" accept:"png,gif" maxSize:"65536" doc:"The avatar."`
	Alt   *string      `form:"alt" validate:"omitempty,max=100"`
}

// An upload route binds its file from multipart/form-data, checked by
// size, extension and sniffed content before the handler runs.
func ExampleFile() {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	api, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{})
	if err != nil {
		panic(err)
	}
	type avatarIn struct{ Body AvatarForm }
	openapi.Post(api, "/avatar", func(_ context.Context, in *avatarIn) (*openapi.Empty, error) {
		img := in.Body.Image
		fmt.Println("stored", img.Name, img.ContentType, img.Size)
		return nil, nil
	})

	upload := func(name, content string) {
		var body strings.Builder
		mw := multipart.NewWriter(&body)
		w, _ := mw.CreateFormFile("image", name)
		w.Write([]byte(content))
		mw.Close()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/avatar", strings.NewReader(body.String()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		rec := httptest.NewRecorder()
		s.Echo().ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	upload("../me.gif", "GIF89a\x01\x00\x01\x00")
	upload("me.gif", "<?php system($_GET['c']); ?>")

	media := api.Document().Paths["/api/v1/avatar"]["post"].RequestBody.Content
	b, _ := json.Marshal(media["multipart/form-data"].Schema.Required)
	fmt.Println(string(b))
	// Output:
	// stored me.gif image/gif 10
	// 204
	// 415
	// ["image"]
}
