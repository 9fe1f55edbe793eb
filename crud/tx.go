package crud

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// txKey is the context key of the transaction [InTx] runs in.
type txKey struct{}

type txState struct {
	db *sqlx.DB
	tx *sqlx.Tx
}

// InTx runs fn in a transaction on db. It commits when fn returns nil and
// rolls back when fn returns an error (returned as is) or panics (the panic
// is re-raised after the rollback).
//
// The ctx passed to fn carries the transaction: every [Repository] built on
// the same db joins it automatically when given that ctx, so handlers and
// services need no tx parameter. [Repository.WithTx] binds a repository to
// a transaction explicitly instead. An InTx inside another InTx on the same
// db joins the outer transaction (no savepoint): the outer call decides.
func InTx(ctx context.Context, db *sqlx.DB, fn func(ctx context.Context, tx *sqlx.Tx) error) (err error) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st.db == db {
		return fn(ctx, st.tx)
	}
	h, release, err := poolOf(db).acquire(ctx, db)
	if err != nil {
		return err
	}
	defer release() // after the commit or rollback below
	var tx *sqlx.Tx
	switch c := h.(type) {
	case *sqlx.Conn:
		tx, err = c.BeginTxx(ctx, nil)
	default:
		tx, err = db.BeginTxx(ctx, nil)
	}
	if err != nil {
		if unreachable(err) {
			return newError(ErrUnavailable, 0, ErrUnavailable.PublicMessage(), nil, fmt.Errorf("begin: %w", err))
		}
		return fmt.Errorf("crud: begin: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{}, &txState{db: db, tx: tx}), tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("crud: rollback: %w", rbErr))
		}
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("crud: commit: %w", err)
	}
	return nil
}
