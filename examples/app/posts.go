package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// Post is a row of the posts table.
type Post struct {
	ID        int64      `db:"id" json:"id"`
	AuthorID  int64      `db:"author_id" json:"author_id"`
	Title     string     `db:"title" json:"title"`
	Content   string     `db:"content" json:"content"`
	Published bool       `db:"published" json:"published"`
	Version   int64      `db:"version" json:"version" doc:"Send it back in If-Match to update without losing a concurrent change"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt time.Time  `db:"updated_at" json:"updated_at"`
	DeletedAt *time.Time `db:"deleted_at" json:"deleted_at,omitempty"`
}

// PostPage is one page of posts.
type PostPage struct {
	Items      []Post `json:"items"`
	Limit      int    `json:"limit"`
	Offset     int    `json:"offset,omitempty"`
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page (v2)"`
	Total      *int64 `json:"total,omitempty"`
}

func postPage(p crud.Page[Post]) *PostPage {
	return &PostPage{Items: nonNil(p.Items), Limit: p.Limit, Offset: p.Offset, HasMore: p.HasMore, NextCursor: p.NextCursor, Total: p.Total}
}

// ListPostsInput is GET /api/v1/posts: filters, sort and offset pages.
type ListPostsInput struct {
	openapi.Query[postsV1]
}

// ListPostsV2Input is GET /api/v2/posts: filters, sort and cursor pages.
type ListPostsV2Input struct {
	openapi.Query[postsV2]
}

var postFilters = map[string]crud.FilterSpec{
	"author_id":  {Type: crud.Int, Ops: []crud.Op{crud.Eq, crud.In}},
	"published":  {Type: crud.Bool},
	"created_at": {Type: crud.Time, Ops: []crud.Op{crud.Gt, crud.Gte, crud.Lt, crud.Lte}},
	"title":      {Type: crud.String, Ops: []crud.Op{crud.Eq, crud.Contains, crud.Prefix}},
}

// postsV1 and postsV2 are the allow-lists of the two versions' listings;
// the document lists each parameter they accept.
type (
	postsV1 struct{}
	postsV2 struct{}
)

func (postsV1) QuerySpec() crud.QuerySpec {
	return crud.QuerySpec{Filters: postFilters, Sort: []string{"created_at", "updated_at", "title"}, DefaultSort: "-created_at"}
}

func (postsV2) QuerySpec() crud.QuerySpec {
	return crud.QuerySpec{Filters: postFilters, Sort: []string{"created_at", "updated_at", "title"}, DefaultSort: "-created_at", CursorOnly: true}
}

// PostRequest is the body of POST /posts.
type PostRequest struct {
	Title     string `json:"title" validate:"required,min=1,max=200" example:"Hello, Gantry"`
	Content   string `json:"content,omitempty" validate:"max=100000"`
	Published bool   `json:"published"`
}

// StrictJSON refuses other fields (author_id, id, ...).
func (PostRequest) StrictJSON() {}

// PostPatch is the body of PATCH /posts/{id}; absent fields are left alone.
type PostPatch struct {
	Title     *string `json:"title,omitempty" validate:"omitempty,min=1,max=200"`
	Content   *string `json:"content,omitempty" validate:"omitempty,max=100000"`
	Published *bool   `json:"published,omitempty"`
}

// StrictJSON refuses other fields.
func (PostPatch) StrictJSON() {}

// PostID is a post id in the path.
type PostID struct {
	ID int64 `path:"id" validate:"min=1"`
}

// UpdatePostInput is PATCH /posts/{id}.
type UpdatePostInput struct {
	ID      int64  `path:"id" validate:"min=1"`
	IfMatch string `header:"If-Match" doc:"The post's version; a stale one answers 409"`
	Body    PostPatch
}

// CreatePostInput is POST /posts.
type CreatePostInput struct {
	Body PostRequest
}

// listPosts serves both versions: everyone sees published posts, authors
// also their drafts (filter author_id by themselves), admins everything.
func (a *app) listPosts(ctx context.Context, q crud.Query) (*PostPage, error) {
	u, p := currentUser(ctx)
	if !isAdmin(p) && !filtersOnlyAuthor(q, u.ID) {
		q.Filters = append(q.Filters, crud.Filter{Field: "published", Op: crud.Eq, Value: true})
	}
	page, err := a.posts.List(ctx, q)
	if err != nil {
		return nil, err
	}
	return postPage(page), nil
}

// filtersOnlyAuthor reports whether q is restricted to id's own posts.
func filtersOnlyAuthor(q crud.Query, id int64) bool {
	for _, f := range q.Filters {
		if f.Field == "author_id" && f.Op == crud.Eq {
			if v, ok := f.Value.(int64); ok && v == id {
				return true
			}
		}
	}
	return false
}

func (a *app) listPostsV1(ctx context.Context, in *ListPostsInput) (*PostPage, error) {
	return a.listPosts(ctx, in.Query.Query)
}

func (a *app) listPostsV2(ctx context.Context, in *ListPostsV2Input) (*PostPage, error) {
	return a.listPosts(ctx, in.Query.Query)
}

func (a *app) createPost(ctx context.Context, in *CreatePostInput) (*Post, error) {
	u, _ := currentUser(ctx)
	p := Post{AuthorID: u.ID, Title: in.Body.Title, Content: in.Body.Content, Published: in.Body.Published}
	if err := a.posts.Create(ctx, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// visiblePost returns the post if the caller may see it, else ErrNotFound:
// a draft of someone else does not exist as far as the caller knows.
func (a *app) visiblePost(ctx context.Context, id int64) (Post, error) {
	post, err := a.posts.Get(ctx, id)
	if err != nil {
		return Post{}, err
	}
	u, p := currentUser(ctx)
	if post.Published || post.AuthorID == u.ID || isAdmin(p) {
		return post, nil
	}
	return Post{}, crud.ErrNotFound
}

// ownPost returns the post if the caller may change it: 404 when it is
// not visible, 403 when it is visible but someone else's.
func (a *app) ownPost(ctx context.Context, id int64) (Post, error) {
	post, err := a.visiblePost(ctx, id)
	if err != nil {
		return Post{}, err
	}
	u, p := currentUser(ctx)
	if post.AuthorID != u.ID && !isAdmin(p) {
		return Post{}, server.NewError(http.StatusForbidden, "only the author or an admin may change this post")
	}
	return post, nil
}

func (a *app) getPost(ctx context.Context, in *PostID) (*Post, error) {
	p, err := a.visiblePost(ctx, in.ID)
	return &p, err
}

func (a *app) updatePost(ctx context.Context, in *UpdatePostInput) (*Post, error) {
	if _, err := a.ownPost(ctx, in.ID); err != nil {
		return nil, err
	}
	patch := crud.Patch{Set: map[string]any{}}
	if in.Body.Title != nil {
		patch.Set["title"] = *in.Body.Title
	}
	if in.Body.Content != nil {
		patch.Set["content"] = *in.Body.Content
	}
	if in.Body.Published != nil {
		patch.Set["published"] = *in.Body.Published
	}
	if in.IfMatch != "" {
		v, err := strconv.ParseInt(strings.Trim(in.IfMatch, `"W/`), 10, 64)
		if err != nil {
			return nil, server.NewError(http.StatusBadRequest, `header "If-Match" must be the post's version`).WithType("invalid_parameter")
		}
		patch.Version = v
	}
	if len(patch.Set) == 0 {
		p, err := a.posts.Get(ctx, in.ID)
		return &p, err
	}
	p, err := a.posts.Update(ctx, in.ID, patch)
	return &p, err
}

func (a *app) deletePost(ctx context.Context, in *PostID) (*openapi.Empty, error) {
	if _, err := a.ownPost(ctx, in.ID); err != nil {
		return nil, err
	}
	return nil, a.posts.SoftDelete(ctx, in.ID)
}

func (a *app) restorePost(ctx context.Context, in *PostID) (*Post, error) {
	if err := a.posts.Restore(ctx, in.ID); err != nil {
		return nil, err
	}
	p, err := a.posts.Get(ctx, in.ID)
	return &p, err
}

// conflict is a 409 with a message for the client.
func conflict(msg string, err error) error {
	return server.NewError(http.StatusConflict, msg).WithType("conflict").Wrap(err)
}
