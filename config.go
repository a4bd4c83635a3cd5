package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is every setting, with its key in the YAML file; the same key in
// upper case with the prefix OPENCOM_ is its environment variable
// (sync.ping_interval -> OPENCOM_SYNC_PING_INTERVAL).
type Config struct {
	Addr           string        `mapstructure:"addr"`
	DataDir        string        `mapstructure:"data_dir"`
	PublicURL      string        `mapstructure:"public_url"`
	Durability     string        `mapstructure:"durability"`
	LogLevel       string        `mapstructure:"log_level"`
	LogFormat      string        `mapstructure:"log_format"`
	CORSOrigins    []string      `mapstructure:"cors_origins"`
	AccessTokenTTL time.Duration `mapstructure:"access_token_ttl"`
	Demo           bool          `mapstructure:"demo"`
	TestMode       bool          `mapstructure:"test_mode"`
	ShutdownGrace  time.Duration `mapstructure:"shutdown_grace"`
	Sync           SyncConfig    `mapstructure:"sync"`
	Service        ServiceConfig `mapstructure:"service"`

	// configFile is the file the settings were read from ("" if none).
	configFile string
	// publicURLFromAddr: public_url was not set, so it follows the bound address.
	publicURLFromAddr bool
}

// SyncConfig tunes the WebSocket sync endpoint.
type SyncConfig struct {
	PingInterval   time.Duration `mapstructure:"ping_interval"`
	PeerTimeout    time.Duration `mapstructure:"peer_timeout"`
	WriteTimeout   time.Duration `mapstructure:"write_timeout"`
	ChunkThreshold int           `mapstructure:"chunk_threshold"`
	MaxQueries     int           `mapstructure:"max_queries"`
}

// ServiceConfig is used by `opencom install`.
type ServiceConfig struct {
	Name string `mapstructure:"name"`
	User string `mapstructure:"user"`
}

var defaults = map[string]any{
	"addr":                 "127.0.0.1:3210",
	"data_dir":             "./opencom_data",
	"public_url":           "",
	"durability":           "normal",
	"log_level":            "info",
	"log_format":           "text",
	"cors_origins":         []string{},
	"access_token_ttl":     "1h",
	"demo":                 false,
	"test_mode":            false,
	"shutdown_grace":       "8s",
	"sync.ping_interval":   "15s",
	"sync.peer_timeout":    "30s",
	"sync.write_timeout":   "15s",
	"sync.chunk_threshold": 4 << 20,
	"sync.max_queries":     5000,
	"service.name":         "opencom",
	"service.user":         "",
}

// usageError is a mistake in how the command was called (exit code 2).
type usageError struct{ error }

// addServeFlags declares the flags that map onto config keys.
func addServeFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML config file (default: none; see config.example.yaml)")
	fs.String("addr", "", "listen address (default 127.0.0.1:3210)")
	fs.String("data-dir", "", "data directory holding opencom.db (default ./opencom_data)")
	fs.String("public-url", "", "URL browsers use to reach this server (default http://<addr>)")
	fs.String("durability", "", "normal (survives a crash) or full (also survives power loss)")
	fs.String("log-level", "", "debug, info, warn or error")
	fs.Bool("demo", false, "seed a demo workspace into an empty database")
	fs.Bool("test-mode", false, "enable the _test module (conformance tests only)")
}

// loadConfig resolves settings with precedence flag > env > file > default.
func loadConfig(fs *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix("OPENCOM")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	bind := map[string]string{"addr": "addr", "data-dir": "data_dir", "public-url": "public_url", "durability": "durability", "log-level": "log_level", "demo": "demo", "test-mode": "test_mode"}
	for flag, key := range bind {
		if f := fs.Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return nil, err
			}
		}
	}
	cfgFile, _ := fs.GetString("config")
	if cfgFile == "" {
		cfgFile = os.Getenv("OPENCOM_CONFIG")
	}
	if cfgFile != "" {
		v.SetConfigFile(cfgFile)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			var nf viper.ConfigFileNotFoundError
			// A config file that is missing or broken is the caller's
			// mistake, like a bad flag: exit 2, not 1.
			if errors.As(err, &nf) || errors.Is(err, os.ErrNotExist) {
				return nil, usageError{fmt.Errorf("config file %s not found", cfgFile)}
			}
			return nil, usageError{fmt.Errorf("cannot read config file %s: %w", cfgFile, err)}
		}
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		return nil, usageError{fmt.Errorf("config: %w", err)}
	}
	c.configFile = cfgFile
	if err := c.validate(); err != nil {
		return nil, usageError{err}
	}
	// A service starts in an unrelated working directory: resolve a
	// relative data dir against the config file's folder.
	if !filepath.IsAbs(c.DataDir) && cfgFile != "" && v.InConfig("data_dir") {
		abs, _ := filepath.Abs(cfgFile)
		c.DataDir = filepath.Join(filepath.Dir(abs), c.DataDir)
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
		c.publicURLFromAddr = true
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	return &c, nil
}

func (c *Config) validate() error {
	if c.Durability != "normal" && c.Durability != "full" {
		return fmt.Errorf("durability must be normal or full, not %q", c.Durability)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log_format must be text or json, not %q", c.LogFormat)
	}
	if c.Addr == "" {
		return errors.New("addr must not be empty")
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		return fmt.Errorf("access_token_ttl must be between 1m and 24h, not %s", c.AccessTokenTTL)
	}
	if c.Sync.PingInterval < time.Second || c.Sync.PingInterval > 50*time.Second {
		return fmt.Errorf("sync.ping_interval must be between 1s and 50s (clients drop silent sockets after 60s)")
	}
	if c.Sync.WriteTimeout < time.Second {
		return fmt.Errorf("sync.write_timeout must be at least 1s, not %s", c.Sync.WriteTimeout)
	}
	if c.Sync.ChunkThreshold < 1024 {
		return fmt.Errorf("sync.chunk_threshold must be at least 1024 bytes")
	}
	return nil
}

func (c *Config) dbPath() string { return filepath.Join(c.DataDir, "opencom.db") }
