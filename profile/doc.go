// Package profile turns layered TOML configuration into a resolved
// [Policy] with the origin of every value. It is pure: it takes file bytes
// and an [Env] value and never reads the file system, the process
// environment or the clock.
//
// # Layers
//
// Lowest precedence first: the built-in defaults ([BuiltinName], embedded),
// the package defaults file set at build time, the system files
// (/etc/claude-sandbox/config.toml and each $XDG_CONFIG_DIRS entry), the
// user file ($XDG_CONFIG_HOME/claude-sandbox/config.toml), the project file
// (PROJECT/.claude-sandbox.toml) and the command-line [Flags]. [Locations]
// lists the files; [Decode] decodes one; [Resolve] merges them.
//
// # Merge rules
//
//   - A scalar or list key set in a higher layer replaces the lower value
//     (command, shell, persist and env.pass are replaced as a whole).
//   - Tables merge key by key: [forward], [mounts], [protect], [env.set],
//     [vm] and [container], so a project can hide one mount without
//     restating the others.
//   - egress.allow, egress.deny and egress.localhost_ports are the union of
//     every layer; deny wins over allow.
//   - A named profile ([profiles.NAME]) is selected by --profile or by the
//     highest layer that sets profile; a profile may be defined in several
//     layers. In each layer its table applies after that layer's top level.
//
// # Validation
//
// Decoding is strict: unknown keys (with a "did you mean"), wrong types and
// bad values are reported as FILE:LINE: message, every problem of every
// file at once. A file that exists but is invalid stops the launch. A
// file larger than [MaxFileSize] or nested deeper than [MaxDepth] is
// refused before it is decoded. Egress domain patterns are checked as
// [MatchDomain] matches them; paths are literal and globs are refused.
//
// [CheckFile] and [CheckFileAs] validate one file's bytes; [SchemaKeys]
// lists every key of the schema; [Defaults] gives the built-in policy.
//
// # Trust
//
// [Assess] compares the policy with the one the layers below the project
// file give; [Widenings] lists what the project file opens. See
// [TrustClassOf] for each key's rule.
package profile
