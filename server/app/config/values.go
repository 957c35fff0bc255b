// This file parses the value forms settings share: lists and sizes.

package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sizeUnits are the suffixes parseSize accepts (matched case-insensitively): SI units
// are powers of 1000, IEC units powers of 1024.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"b", 1},
}

// parseSize parses a byte count: 65536, 64KiB, 64KB, 1MiB, 1MB, 1GiB (units are
// case-insensitive and may follow a space; KB and MB are powers of 1000).
func parseSize(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number of bytes, optionally with a unit: 65536, 64KiB, 64KB, 1MiB, 1MB")
	}
	if n > math.MaxInt/mult {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return int(n * mult), nil
}
