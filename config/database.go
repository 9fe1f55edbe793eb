package config

import "github.com/gantry-dev/gantry/crud"

// DatabaseConfig returns the options of the SQL pool the settings describe,
// for [crud.Open]: DATABASE_URL, DATABASE_POOL_SIZE (connections kept
// idle), DATABASE_MAX_OVERFLOW (connections above it under load),
// DATABASE_POOL_TIMEOUT (how long a statement waits for a free connection
// before failing with crud.ErrUnavailable), a ping on open, and with DEBUG
// every statement logged with its arguments redacted. The Logger is left
// for the caller (s.NewLogger). An empty DATABASE_URL stays empty: the
// application picks its embedded default.
func (s Settings) DatabaseConfig() crud.DBConfig {
	return crud.DBConfig{
		URL:         s.DatabaseURL,
		PoolSize:    s.DatabasePoolSize,
		MaxOverflow: s.DatabaseMaxOverflow,
		PoolTimeout: s.DatabasePoolTimeout,
		PrePing:     true,
		Debug:       s.Debug,
	}
}
