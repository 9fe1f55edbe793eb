package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisPingTimeout bounds the PING [OpenRedis] sends before it returns a
// client, unless ctx ends sooner.
const RedisPingTimeout = 5 * time.Second

// RedisOptions is a parsed REDIS_URL: exactly one of its fields is set,
// by the URL's scheme.
type RedisOptions struct {
	// Single is set for redis://, rediss:// and unix:// URLs.
	Single *redis.Options
	// Sentinel is set for redis-sentinel:// and rediss-sentinel:// URLs.
	Sentinel *redis.FailoverOptions
	// Cluster is set for redis-cluster:// and rediss-cluster:// URLs.
	Cluster *redis.ClusterOptions
}

// NewClient returns a client for the options (it does not connect): a
// *redis.Client for Single, a Sentinel-backed *redis.Client for Sentinel,
// a *redis.ClusterClient for Cluster. The caller must close it.
func (o RedisOptions) NewClient() redis.UniversalClient {
	switch {
	case o.Sentinel != nil:
		return redis.NewFailoverClient(o.Sentinel)
	case o.Cluster != nil:
		return redis.NewClusterClient(o.Cluster)
	}
	return redis.NewClient(o.Single)
}

// ParseRedisURL parses a REDIS_URL in one of three forms:
//
//	redis://[user:password@]host[:port][/db][?option=value]       one server
//	rediss://…, unix://[user:password@]/path/to.sock[?db=N]        (TLS; socket)
//	redis-sentinel://[user:password@]host:port[,host:port…]/master[/db][?option=value]
//	redis-cluster://[user:password@]host:port[,host:port…][?option=value]
//
// rediss-sentinel:// and rediss-cluster:// connect with TLS. In the
// Sentinel form the hosts are the sentinels, master is the name they
// monitor, and the user info authenticates to the master and its replicas;
// a sentinel that requires a password of its own takes it from the
// sentinel_username and sentinel_password options. In the Cluster form the
// hosts are any nodes of the cluster (one is enough; the rest are found).
// A port defaults to 6379 (26379 for sentinels).
//
// The options are go-redis's URL options (dial_timeout=3s, pool_size=20,
// …) and are parsed by go-redis's own ParseURL, ParseFailoverURL and
// ParseClusterURL. Errors never contain the password.
func ParseRedisURL(raw string) (RedisOptions, error) {
	fail := func(err error) (RedisOptions, error) {
		return RedisOptions{}, fmt.Errorf("config: REDIS_URL %s: %w", redactRedis(raw), err)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return fail(errors.New("is not a URL (want redis://, rediss://, unix://, redis-sentinel:// or redis-cluster://)"))
	}
	var (
		tls  bool
		kind string
	)
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return fail(hideURL(err))
		}
		return RedisOptions{Single: o}, nil
	case "redis-sentinel":
		kind = "sentinel"
	case "rediss-sentinel":
		kind, tls = "sentinel", true
	case "redis-cluster":
		kind = "cluster"
	case "rediss-cluster":
		kind, tls = "cluster", true
	default:
		return fail(fmt.Errorf("has scheme %q (want redis, rediss, unix, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster)", scheme))
	}

	// The host list may hold commas and IPv6 literals, which net/url
	// refuses: take it out, parse the rest, then check each address.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	var userinfo string
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, authority = authority[:at+1], authority[at+1:]
	}
	defPort := "6379"
	if kind == "sentinel" {
		defPort = "26379"
	}
	var addrs []string
	for h := range strings.SplitSeq(authority, ",") {
		addr, err := hostPort(strings.TrimSpace(h), defPort)
		if err != nil {
			return fail(err)
		}
		addrs = append(addrs, addr)
	}
	u, err := url.Parse("redis://" + userinfo + "placeholder" + tail)
	if err != nil {
		return fail(hideURL(err))
	}
	if u.Fragment != "" {
		return fail(errors.New("has a fragment"))
	}
	var user, pass string
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	q := u.Query()
	if tls {
		u.Scheme = "rediss"
	}

	if kind == "cluster" {
		if p := strings.Trim(u.Path, "/"); p != "" {
			return fail(errors.New("a cluster URL has no path: a cluster has only database 0"))
		}
		u.Host, u.Path = addrs[0], ""
		for _, a := range addrs[1:] {
			q.Add("addr", a)
		}
		u.RawQuery = q.Encode()
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return fail(hideURL(err))
		}
		return RedisOptions{Cluster: o}, nil
	}

	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if segs[0] == "" || len(segs) > 2 {
		return fail(errors.New("a Sentinel URL needs the master's name as its path: redis-sentinel://host:26379/mymaster[/db]"))
	}
	if q.Has("master_name") || q.Has("password") || q.Has("username") || q.Has("addr") {
		return fail(errors.New("set the master, credentials and sentinels in the URL itself, not as master_name, username, password or addr options"))
	}
	master := segs[0]
	if len(segs) == 2 {
		q.Set("db", segs[1])
	}
	// go-redis's failover URL: user info authenticates to the sentinels.
	u.User = nil
	if su, sp := q.Get("sentinel_username"), q.Get("sentinel_password"); su != "" || sp != "" {
		u.User = url.UserPassword(su, sp)
	}
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	q.Set("master_name", master)
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	u.Host, u.Path, u.RawQuery = addrs[0], "", q.Encode()
	o, err := redis.ParseFailoverURL(u.String())
	if err != nil {
		return fail(hideURL(err))
	}
	o.Username, o.Password = user, pass
	return RedisOptions{Sentinel: o}, nil
}

// hostPort checks one host[:port] of a host list and adds the default
// port.
func hostPort(h, defPort string) (string, error) {
	if h == "" {
		return "", errors.New("has an empty host in its host list")
	}
	host, port := h, defPort
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		var err error
		if host, port, err = net.SplitHostPort(h); err != nil {
			if !strings.HasPrefix(h, "[") || !strings.HasSuffix(h, "]") {
				return "", fmt.Errorf("has a bad host %q", h)
			}
			host, port = strings.Trim(h, "[]"), defPort
		}
	}
	if host == "" || strings.ContainsAny(host, " /@[]") {
		return "", fmt.Errorf("has a bad host %q", h)
	}
	if port == "" {
		port = defPort
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("has a bad port in %q", h)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// redactRedis is [Redacted] for a REDIS_URL, which net/url may read
// differently from ParseRedisURL (a host list, a stray '#'): unless net/url
// finds the very password ParseRedisURL does in the user info, which
// Redacted then replaces, the whole URL is hidden.
func redactRedis(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Redacted(raw)
	}
	if end := strings.IndexAny(rest, "/?"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return Redacted(raw)
	}
	_, pw, hasPW := strings.Cut(rest[:at], ":")
	if !hasPW || pw == "" {
		return Redacted(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return RedactedText
	}
	if got, _ := u.User.Password(); got != pw && url.UserPassword("", got).String() != ":"+pw {
		return RedactedText
	}
	return Redacted(raw)
}

// hideURL drops the URL net/url puts in its errors, which may hold a
// password.
func hideURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// OpenRedis returns a client for s.RedisURL (see [ParseRedisURL] for its
// forms) after one PING answered within [RedisPingTimeout]. The pool size
// is s.RedisPoolSize unless the URL sets pool_size, and the context of a
// call bounds it (ContextTimeoutEnabled). On error nothing stays open. The
// caller closes the client, typically in a server stop hook. With
// [TraceRedis] its commands are spans.
//
// An empty RedisURL is an error: callers that run without Redis check for
// it first.
func OpenRedis(ctx context.Context, s *Settings, opts ...RedisOption) (redis.UniversalClient, error) {
	if s.RedisURL == "" {
		return nil, errors.New("config: REDIS_URL is empty")
	}
	o, err := ParseRedisURL(s.RedisURL)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Single != nil:
		if o.Single.PoolSize == 0 {
			o.Single.PoolSize = s.RedisPoolSize
		}
		o.Single.ContextTimeoutEnabled = true
	case o.Sentinel != nil:
		if o.Sentinel.PoolSize == 0 {
			o.Sentinel.PoolSize = s.RedisPoolSize
		}
		o.Sentinel.ContextTimeoutEnabled = true
	case o.Cluster != nil:
		if o.Cluster.PoolSize == 0 {
			o.Cluster.PoolSize = s.RedisPoolSize
		}
		o.Cluster.ContextTimeoutEnabled = true
	}
	rdb := o.NewClient()
	if err := instrumentRedis(rdb, opts); err != nil {
		_ = rdb.Close()
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, RedisPingTimeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("config: redis %s: %w", redactRedis(s.RedisURL), err)
	}
	return rdb, nil
}
