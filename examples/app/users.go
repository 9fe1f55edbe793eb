package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/outbox"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// Roles a user may hold. Superusers also get RoleAdmin in their tokens.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Scopes every active user's tokens carry.
var userScopes = []string{"posts:read", "posts:write", "files:write", "tasks:write"}

// User is a row of the users table. The password hash never leaves the
// server (json:"-").
type User struct {
	ID             int64      `db:"id" json:"id"`
	Username       string     `db:"username" json:"username"`
	Email          string     `db:"email" json:"email" validate:"email"`
	HashedPassword string     `db:"hashed_password" json:"-"`
	FullName       string     `db:"full_name" json:"full_name"`
	Bio            string     `db:"bio" json:"bio"`
	Role           string     `db:"role" json:"role" validate:"oneof=user admin"`
	Active         bool       `db:"is_active" json:"is_active"`
	Superuser      bool       `db:"is_superuser" json:"is_superuser"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at" json:"updated_at"`
	DeletedAt      *time.Time `db:"deleted_at" json:"-"`
}

// IsActive implements auth.User.
func (u User) IsActive() bool { return u.Active }

// IsSuperuser implements auth.User.
func (u User) IsSuperuser() bool { return u.Superuser }

// roles are the roles written into the user's tokens.
func (u User) roles() []string {
	if u.Superuser {
		return []string{RoleAdmin, auth.RoleSuperuser}
	}
	return []string{u.Role}
}

func (u User) subject() string { return strconv.FormatInt(u.ID, 10) }

// loadUser is the auth.UserLoader: the token's subject is the user id.
func (a *app) loadUser(ctx context.Context, subject string) (auth.User, error) {
	id, err := strconv.ParseInt(subject, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("subject %q: %w", subject, auth.ErrUserNotFound)
	}
	u, err := a.users.Get(ctx, id)
	if errors.Is(err, crud.ErrNotFound) { // deleted users cannot use their tokens
		return nil, fmt.Errorf("user %d: %w", id, auth.ErrUserNotFound)
	}
	return u, err
}

// userByName finds a live user by username (stored lower case).
func (a *app) userByName(ctx context.Context, name string) (User, error) {
	page, err := a.users.List(ctx, crud.Query{Filters: []crud.Filter{{Field: "username", Op: crud.Eq, Value: name}}, Limit: 1})
	if err != nil {
		return User{}, err
	}
	if len(page.Items) == 0 {
		return User{}, crud.ErrNotFound
	}
	return page.Items[0], nil
}

// currentUser returns the user the request's token belongs to.
func currentUser(ctx context.Context) (User, *auth.Principal) {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return User{}, nil
	}
	u, _ := p.User.(User)
	return u, p
}

func isAdmin(p *auth.Principal) bool { return p != nil && (p.Superuser || p.HasRole(RoleAdmin)) }

// setPassword stores a new password hash. Handlers never pass request
// fields to Update wholesale: each builds its patch from the fields its
// request type declares, so hashed_password, is_superuser and id are only
// ever written here and at registration.
func (a *app) setPassword(ctx context.Context, id int64, hash string) error {
	_, err := a.users.Update(ctx, id, crud.Patch{Set: map[string]any{"hashed_password": hash}})
	return err
}

// ---- Requests and responses ----

// RegisterRequest is the body of POST /auth/register.
type RegisterRequest struct {
	Username string `json:"username" validate:"required,min=3,max=50,alphanum" doc:"Letters and digits; stored in lower case" example:"alice"`
	Email    string `json:"email" validate:"required,email,max=254" example:"alice@example.com"`
	Password string `json:"password" validate:"required,min=8,max=1024" example:"correct-horse"`
	FullName string `json:"full_name,omitempty" validate:"max=100"`
}

// StrictJSON refuses fields the request does not declare (is_superuser, role, ...).
func (RegisterRequest) StrictJSON() {}

// LoginRequest is the body of POST /auth/login.
type LoginRequest struct {
	Username string `json:"username" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

// RefreshRequest is the body of POST /auth/refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required"`
}

// TokenPair answers a login or a refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type" validate:"oneof=bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Access token lifetime in seconds"`
}

func tokenPair(p auth.Pair) *TokenPair {
	return &TokenPair{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: p.TokenType, ExpiresIn: p.ExpiresIn}
}

// UpdateMeRequest is the body of PATCH /users/me; absent fields are left alone.
type UpdateMeRequest struct {
	FullName *string `json:"full_name,omitempty" validate:"omitempty,max=100"`
	Bio      *string `json:"bio,omitempty" validate:"omitempty,max=2000"`
	Email    *string `json:"email,omitempty" validate:"omitempty,email,max=254"`
}

// StrictJSON refuses any other field (id, role, is_superuser, hashed_password, ...).
func (UpdateMeRequest) StrictJSON() {}

// ChangePasswordRequest is the body of PUT /users/me/password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password" validate:"required,max=1024"`
	NewPassword     string `json:"new_password" validate:"required,min=8,max=1024"`
}

// AdminUpdateUserRequest is the body of PATCH /users/{id}.
type AdminUpdateUserRequest struct {
	Role     *string `json:"role,omitempty" validate:"omitempty,oneof=user admin"`
	IsActive *bool   `json:"is_active,omitempty"`
}

// StrictJSON refuses any other field.
func (AdminUpdateUserRequest) StrictJSON() {}

// UserPage is one page of users.
type UserPage struct {
	Items      []User `json:"items"`
	Limit      int    `json:"limit"`
	Offset     int    `json:"offset"`
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor,omitempty"`
	Total      *int64 `json:"total,omitempty"`
}

// ListUsersInput is GET /users: filters, sort and offset pages.
type ListUsersInput struct {
	openapi.Query[usersQuery]
}

// usersQuery is the allow-list of GET /users.
type usersQuery struct{}

func (usersQuery) QuerySpec() crud.QuerySpec {
	return crud.QuerySpec{
		Filters: map[string]crud.FilterSpec{
			"role":      {Type: crud.String, Values: []string{RoleUser, RoleAdmin}},
			"is_active": {Type: crud.Bool},
		},
		Sort:        []string{"created_at", "username"},
		DefaultSort: "created_at",
	}
}

// activeSuperuserFilters select the live users who can administer the
// service: active superusers.
var activeSuperuserFilters = []crud.Filter{
	{Field: "is_superuser", Op: crud.Eq, Value: true},
	{Field: "is_active", Op: crud.Eq, Value: true},
}

// UserID is a user id in the path.
type UserID struct {
	ID int64 `path:"id" validate:"min=1"`
}

// UpdateUserInput is PATCH /users/{id}.
type UpdateUserInput struct {
	ID   int64 `path:"id" validate:"min=1"`
	Body AdminUpdateUserRequest
}

// ---- Handlers ----

func (a *app) register(ctx context.Context, in *struct{ Body RegisterRequest }) (*User, error) {
	b := in.Body
	hash, err := a.hasher.Hash(b.Password)
	if err != nil {
		auth.WriteHeaders(openapi.EchoContext(ctx), err) // a busy hasher: 503 with Retry-After
		return nil, err
	}
	u := User{
		Username: strings.ToLower(b.Username), Email: strings.ToLower(b.Email), HashedPassword: hash,
		FullName: b.FullName, Role: RoleUser, Active: true,
	}
	err = a.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := a.users.Create(ctx, &u); err != nil {
			return err
		}
		return a.enqueueTx(ctx, tx, welcomeEmail(a.cfg.ProjectName, u), jobs.Owner(u.subject()))
	})
	if err != nil {
		if errors.Is(err, crud.ErrConflict) {
			return nil, conflict("username or email already registered", err)
		}
		return nil, err
	}
	return &u, nil
}

// welcomeEmail is the mail a registration sends.
func welcomeEmail(project string, u User) SendEmail {
	name := u.FullName
	if name == "" {
		name = u.Username
	}
	return SendEmail{To: u.Email, Subject: "Welcome to " + project,
		Content: "Hello " + name + ",\n\nyour account " + u.Username + " is ready."}
}

// inTx runs fn in a transaction of the database; the repositories given
// its ctx join it. Without a database (the handlers' tests on fakes) fn
// runs as is, with a nil tx.
func (a *app) inTx(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	if a.db == nil {
		return fn(ctx, nil)
	}
	return crud.InTx(ctx, a.db, fn)
}

// enqueueTx enqueues a job as part of tx: it is recorded in the outbox
// table, and the worker's relay enqueues it once tx commits, so a rolled
// back change starts no job and a committed one always does. Without a
// database (fakes) it enqueues on the job client directly.
func (a *app) enqueueTx(ctx context.Context, tx *sqlx.Tx, args jobs.Args, opts ...jobs.Option) error {
	if tx == nil {
		_, err := a.jobs.Enqueue(ctx, args, opts...)
		return err
	}
	_, err := outbox.EnqueueTx(ctx, tx, args, opts...)
	return err
}

func (a *app) authenticator() *auth.Authenticator[User] {
	return &auth.Authenticator[User]{
		Hasher:  a.hasher,
		Limiter: a.logins,
		Lookup: func(ctx context.Context, account string) (User, string, error) {
			u, err := a.userByName(ctx, strings.ToLower(strings.TrimSpace(account)))
			if errors.Is(err, crud.ErrNotFound) {
				return User{}, "", auth.ErrUserNotFound
			}
			return u, u.HashedPassword, err
		},
		Rehash: func(ctx context.Context, u User, hash string) error { return a.setPassword(ctx, u.ID, hash) },
	}
}

func (a *app) login(ctx context.Context, in *struct{ Body LoginRequest }) (*TokenPair, error) {
	u, err := a.authenticator().Authenticate(ctx, in.Body.Username, in.Body.Password)
	if err == nil && !u.Active {
		err = auth.ErrInvalidCredentials // same answer as a wrong password
	}
	if err != nil {
		auth.WriteHeaders(openapi.EchoContext(ctx), err)
		return nil, err
	}
	pair, err := a.tokens.IssuePair(ctx, u.subject(), userScopes, u.roles())
	if err != nil {
		return nil, err
	}
	return tokenPair(pair), nil
}

func (a *app) refresh(ctx context.Context, in *struct{ Body RefreshRequest }) (*TokenPair, error) {
	pair, err := a.tokens.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		auth.WriteHeaders(openapi.EchoContext(ctx), err)
		return nil, err
	}
	return tokenPair(pair), nil
}

func (a *app) logout(ctx context.Context, _ *openapi.Empty) (*openapi.Empty, error) {
	_, p := currentUser(ctx)
	return nil, a.tokens.Revoke(ctx, p.Claims)
}

func (a *app) logoutAll(ctx context.Context, _ *openapi.Empty) (*openapi.Empty, error) {
	_, p := currentUser(ctx)
	return nil, a.tokens.RevokeAllForUser(ctx, p.Subject)
}

func (a *app) me(ctx context.Context, _ *openapi.Empty) (*User, error) {
	u, _ := currentUser(ctx)
	return &u, nil
}

func (a *app) updateMe(ctx context.Context, in *struct{ Body UpdateMeRequest }) (*User, error) {
	u, _ := currentUser(ctx)
	set := map[string]any{}
	if b := in.Body; b.FullName != nil {
		set["full_name"] = *b.FullName
	}
	if b := in.Body; b.Bio != nil {
		set["bio"] = *b.Bio
	}
	if b := in.Body; b.Email != nil {
		set["email"] = strings.ToLower(*b.Email)
	}
	if len(set) == 0 {
		return &u, nil
	}
	out, err := a.users.Update(ctx, u.ID, crud.Patch{Set: set})
	if errors.Is(err, crud.ErrConflict) {
		return nil, conflict("email already registered", err)
	}
	return &out, err
}

func (a *app) changePassword(ctx context.Context, in *struct{ Body ChangePasswordRequest }) (*TokenPair, error) {
	u, _ := currentUser(ctx)
	ok, err := a.hasher.Verify(in.Body.CurrentPassword, u.HashedPassword)
	if err != nil {
		auth.WriteHeaders(openapi.EchoContext(ctx), err)
		return nil, err
	}
	if !ok {
		return nil, server.NewError(http.StatusForbidden, "current password is wrong").WithType("invalid_password")
	}
	hash, err := a.hasher.Hash(in.Body.NewPassword)
	if err != nil {
		auth.WriteHeaders(openapi.EchoContext(ctx), err)
		return nil, err
	}
	if err := a.setPassword(ctx, u.ID, hash); err != nil {
		return nil, err
	}
	// Every token issued until now dies; the caller gets a fresh pair.
	pair, err := a.tokens.ReissueAll(ctx, u.subject(), userScopes, u.roles())
	if err != nil {
		return nil, err
	}
	return tokenPair(pair), nil
}

func (a *app) listUsers(ctx context.Context, in *ListUsersInput) (*UserPage, error) {
	page, err := a.users.List(ctx, in.Query.Query)
	if err != nil {
		return nil, err
	}
	return &UserPage{Items: nonNil(page.Items), Limit: page.Limit, Offset: page.Offset, HasMore: page.HasMore, NextCursor: page.NextCursor, Total: page.Total}, nil
}

// Refusals of the admin routes that would leave the service without an
// administrator. Both are 409 Conflict: the request is well-formed, but the
// state of the users forbids it.
var (
	// errOwnAccount refuses an admin deleting, demoting or deactivating
	// their own account through the admin routes.
	errOwnAccount = server.NewError(http.StatusConflict,
		"an admin cannot delete, demote or deactivate their own account; ask another admin").WithType("own_account")
	// errLastSuperuser refuses deleting or deactivating the last active
	// superuser, whoever asks.
	errLastSuperuser = server.NewError(http.StatusConflict,
		"the last active superuser cannot be deleted or deactivated").WithType("last_superuser")
)

// lockSuperusers locks the rows of every superuser on PostgreSQL, in id
// order. It selects on is_superuser alone, which no route changes, so every
// guard locks the same rows in the same order (locking only the active
// ones, a set that changes with each commit, deadlocked under
// TestSuperusersRemovingEachOther: 40P01). A concurrent guard waits here
// until the first commits.
const lockSuperusers = `SELECT id FROM users WHERE is_superuser ORDER BY id FOR UPDATE`

// guardSuperusers runs remove, which deletes or deactivates user id, unless
// id is the last active superuser (errLastSuperuser). Check and change are
// one transaction that holds the superusers' rows: locked with SELECT …
// FOR UPDATE on PostgreSQL; on SQLite the transaction begins IMMEDIATE
// (crud.SQLiteDSN), which serializes writers. Without a database (the
// handlers' tests on fakes) a mutex stands in. So of two superusers removing
// each other at once, one succeeds and the other is refused.
func (a *app) guardSuperusers(ctx context.Context, id int64, remove func(ctx context.Context) error) error {
	check := func(ctx context.Context) error {
		u, err := a.users.Get(ctx, id)
		if err != nil {
			return err
		}
		if u.Superuser && u.Active {
			n, err := a.users.Count(ctx, crud.Query{Filters: activeSuperuserFilters})
			if err != nil {
				return err
			}
			if n <= 1 {
				return errLastSuperuser
			}
		}
		return remove(ctx)
	}
	if a.db == nil {
		a.adminMu.Lock()
		defer a.adminMu.Unlock()
		return check(ctx)
	}
	return crud.InTx(ctx, a.db, func(ctx context.Context, tx *sqlx.Tx) error {
		if a.dialect == crud.Postgres {
			if _, err := tx.ExecContext(ctx, lockSuperusers); err != nil {
				return fmt.Errorf("lock superusers: %w", err)
			}
		}
		return check(ctx)
	})
}

// updateUser sets a user's role or active flag. An admin cannot change
// their own role or deactivate themselves (errOwnAccount), and the last
// active superuser cannot be deactivated (errLastSuperuser).
func (a *app) updateUser(ctx context.Context, in *UpdateUserInput) (*User, error) {
	me, _ := currentUser(ctx)
	set := map[string]any{}
	if in.Body.Role != nil {
		set["role"] = *in.Body.Role
	}
	deactivate := in.Body.IsActive != nil && !*in.Body.IsActive
	if in.Body.IsActive != nil {
		set["is_active"] = *in.Body.IsActive
	}
	if in.ID == me.ID && (deactivate || (in.Body.Role != nil && *in.Body.Role != me.Role)) {
		return nil, errOwnAccount
	}
	if len(set) == 0 {
		u, err := a.users.Get(ctx, in.ID)
		return &u, err
	}
	var u User
	update := func(ctx context.Context) (err error) {
		u, err = a.users.Update(ctx, in.ID, crud.Patch{Set: set})
		return err
	}
	var err error
	if deactivate {
		err = a.guardSuperusers(ctx, in.ID, update)
	} else {
		err = update(ctx)
	}
	if err != nil {
		return nil, err
	}
	if in.Body.Role != nil || deactivate {
		// Roles live in tokens: make the user log in again to pick them up.
		if err := a.tokens.RevokeAllForUser(ctx, u.subject()); err != nil {
			return nil, err
		}
	}
	return &u, nil
}

// deleteUser soft-deletes a user and revokes their tokens. An admin cannot
// delete themselves (errOwnAccount), nor anyone the last active superuser
// (errLastSuperuser).
func (a *app) deleteUser(ctx context.Context, in *UserID) (*openapi.Empty, error) {
	if me, _ := currentUser(ctx); in.ID == me.ID {
		return nil, errOwnAccount
	}
	if err := a.guardSuperusers(ctx, in.ID, func(ctx context.Context) error { return a.users.SoftDelete(ctx, in.ID) }); err != nil {
		return nil, err
	}
	return nil, a.tokens.RevokeAllForUser(ctx, strconv.FormatInt(in.ID, 10))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
