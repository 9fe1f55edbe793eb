package config_test

import (
	"fmt"

	"github.com/gantry-dev/gantry/config"
)

// REDIS_URL names one server, a Sentinel-monitored master or a cluster.
func ExampleParseRedisURL() {
	for _, u := range []string{
		"redis://cache:6379/1",
		"redis-sentinel://:secret@s1:26379,s2:26379/mymaster/2",
		"redis-cluster://n1:7000,n2:7000,n3:7000",
	} {
		o, err := config.ParseRedisURL(u)
		if err != nil {
			panic(err)
		}
		switch {
		case o.Single != nil:
			fmt.Println("single", o.Single.Addr, "db", o.Single.DB)
		case o.Sentinel != nil:
			fmt.Println("sentinel", o.Sentinel.MasterName, o.Sentinel.SentinelAddrs, "db", o.Sentinel.DB)
		case o.Cluster != nil:
			fmt.Println("cluster", o.Cluster.Addrs)
		}
	}
	_, err := config.ParseRedisURL("redis-sentinel://:secret@s1:26379")
	fmt.Println(err)
	// Output:
	// single cache:6379 db 1
	// sentinel mymaster [s1:26379 s2:26379] db 2
	// cluster [n1:7000 n2:7000 n3:7000]
	// config: REDIS_URL redis-sentinel://:xxxxx@s1:26379: a Sentinel URL needs the master's name as its path: redis-sentinel://host:26379/mymaster[/db]
}
