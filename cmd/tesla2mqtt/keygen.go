package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tesla2mqtt/tesla2mqtt/fleet"
)

func cmdKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", "usage: tesla2mqtt keygen --out DIR [--domain DOMAIN]\n\nCreates the app's P-256 key pair. An existing private key is never overwritten:\nreplacing it would unpair every car.", stderr)
	out := fs.String("out", "keys", "directory for private-key.pem (0600) and public-key.pem")
	domain := fs.String("domain", "", "your app's domain, to print where the public key must be hosted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	privPath, pubPath, err := fleet.GenerateKey(*out)
	if errors.Is(err, fleet.ErrKeyExists) {
		return &exitError{code: 1, err: fmt.Errorf("%w\n  keep using it; to start over, move %s away first and re-pair every car", err, *out)}
	}
	if err != nil {
		return err
	}
	pub, err := os.ReadFile(pubPath)
	if err != nil {
		return err
	}
	where := fleet.PublicKeyURL("<your-domain>")
	if *domain != "" {
		where = fleet.PublicKeyURL(*domain)
	}
	fmt.Fprintf(stdout, `Created the app's key pair:
  private key: %s (mode 0600; never put it on the web)
  public key:  %s

%s
Next:
  1. Host the public key, unchanged and without redirects, at
       %s
  2. In the config's [tesla] table set
       private_key_file = "%s"
  3. Register the domain with Tesla: tesla2mqtt register -c config.toml
  4. Check everything:               tesla2mqtt doctor -c config.toml
`, privPath, pubPath, pub, where, privPath)
	return nil
}
