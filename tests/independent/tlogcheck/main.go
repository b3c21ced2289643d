// tlogcheck checks a Tracemark log published as C2SP tlog-tiles with Go's reference code
// (golang.org/x/mod/sumdb/tlog and sumdb/note, from Debian's golang-golang-x-mod-dev), so
// that tiles, proofs and checkpoint signatures are judged by an implementation Tracemark did
// not write. tests/independent/test_go_tlog.py builds and runs it.
//
//	tlogcheck -dir DIR -vkey VKEY [-old CHECKPOINT_FILE] [-proofs PROOFS_JSON]
//
// DIR holds `checkpoint` and `tile/...` (tracemark log export-tiles). It checks: the
// checkpoint's signature by VKEY; that the tiles hash to the checkpoint's root (Go's
// TileHashReader authenticates every tile it reads against the tree); every entry of every
// bundle against the tree with a record proof Go computes from the tiles; with -old, a tree
// proof from an older signed checkpoint; with -proofs, the inclusion and consistency proofs
// the Tracemark service served (a JSON list). Prints one line per check group; exit 1 on the
// first failure with the reason.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type dirTiles struct{ dir string }

func indexPath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// c2spPath is the C2SP tlog-tiles path: tile/<L>/<N>[.p/<W>], without Go sumdb's height.
func c2spPath(t tlog.Tile) string {
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	p := "tile/" + level + "/" + indexPath(t.N)
	if t.W != 1<<uint(t.H) {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

func (d dirTiles) Height() int { return 8 }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(c2spPath(t))))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (d dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

type checkpoint struct {
	origin string
	tree   tlog.Tree
}

func openCheckpoint(path string, verifier note.Verifier) (checkpoint, error) {
	msg, err := os.ReadFile(path)
	if err != nil {
		return checkpoint{}, err
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("%s: %v", path, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return checkpoint{}, fmt.Errorf("%s: not a checkpoint", path)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return checkpoint{}, fmt.Errorf("%s: bad tree size %q", path, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("%s: bad root hash %q", path, lines[2])
	}
	var h tlog.Hash
	copy(h[:], root)
	return checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: h}}, nil
}

func readEntries(dir string, size int64) ([][]byte, error) {
	var entries [][]byte
	for n := int64(0); n*256 < size; n++ {
		w := size - n*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: n, W: int(w)}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c2spPath(t))))
		if err != nil {
			return nil, err
		}
		for len(data) > 0 {
			if len(data) < 2 {
				return nil, fmt.Errorf("%s: truncated length", c2spPath(t))
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				return nil, fmt.Errorf("%s: truncated entry", c2spPath(t))
			}
			entries = append(entries, data[2:2+l])
			data = data[2+l:]
		}
		if int64(len(entries)) != n*256+w {
			return nil, fmt.Errorf("%s: %d entries so far, want %d", c2spPath(t), len(entries), n*256+w)
		}
	}
	return entries, nil
}

type servedProof struct {
	Kind     string   `json:"kind"`
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Root     string   `json:"root"`
	Size1    int64    `json:"size1"`
	Size2    int64    `json:"size2"`
	Root1    string   `json:"root1"`
	Root2    string   `json:"root2"`
	Proof    []string `json:"proof"`
}

func hashOf(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

func hashesOf(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := hashOf(s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkServed(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var proofs []servedProof
	if err := json.Unmarshal(raw, &proofs); err != nil {
		return 0, err
	}
	for i, p := range proofs {
		hashes, err := hashesOf(p.Proof)
		if err != nil {
			return i, err
		}
		switch p.Kind {
		case "inclusion":
			leaf, err1 := hashOf(p.LeafHash)
			root, err2 := hashOf(p.Root)
			if err := firstError(err1, err2); err != nil {
				return i, err
			}
			if err := tlog.CheckRecord(hashes, p.Size, root, p.Index, leaf); err != nil {
				return i, fmt.Errorf("served inclusion proof %d in %d: %v", p.Index, p.Size, err)
			}
		case "consistency":
			r1, err1 := hashOf(p.Root1)
			r2, err2 := hashOf(p.Root2)
			if err := firstError(err1, err2); err != nil {
				return i, err
			}
			if err := tlog.CheckTree(hashes, p.Size2, r2, p.Size1, r1); err != nil {
				return i, fmt.Errorf("served consistency proof %d -> %d: %v", p.Size1, p.Size2, err)
			}
		default:
			return i, fmt.Errorf("unknown proof kind %q", p.Kind)
		}
	}
	return len(proofs), nil
}

func run() error {
	dir := flag.String("dir", "", "directory with checkpoint and tile/")
	vkey := flag.String("vkey", "", "the log's note verifier key")
	old := flag.String("old", "", "an older signed checkpoint to prove consistency from")
	served := flag.String("proofs", "", "JSON list of proofs the service served")
	flag.Parse()
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return fmt.Errorf("vkey: %v", err)
	}
	cp, err := openCheckpoint(filepath.Join(*dir, "checkpoint"), verifier)
	if err != nil {
		return err
	}
	fmt.Printf("checkpoint ok: %s size %d\n", cp.origin, cp.tree.N)
	reader := tlog.TileHashReader(cp.tree, dirTiles{*dir})
	root, err := tlog.TreeHash(cp.tree.N, reader)
	if err != nil {
		return fmt.Errorf("tree hash from tiles: %v", err)
	}
	if root != cp.tree.Hash {
		return fmt.Errorf("tiles hash to %v, checkpoint says %v", root, cp.tree.Hash)
	}
	fmt.Println("tiles ok: they hash to the checkpoint's root")
	entries, err := readEntries(*dir, cp.tree.N)
	if err != nil {
		return err
	}
	for i, e := range entries {
		proof, err := tlog.ProveRecord(cp.tree.N, int64(i), reader)
		if err != nil {
			return fmt.Errorf("record proof %d: %v", i, err)
		}
		if err := tlog.CheckRecord(proof, cp.tree.N, cp.tree.Hash, int64(i), tlog.RecordHash(e)); err != nil {
			return fmt.Errorf("entry %d is not in the tree: %v", i, err)
		}
	}
	fmt.Printf("entries ok: %d entries proven from the tiles\n", len(entries))
	if *old != "" {
		before, err := openCheckpoint(*old, verifier)
		if err != nil {
			return err
		}
		proof, err := tlog.ProveTree(cp.tree.N, before.tree.N, reader)
		if err != nil {
			return fmt.Errorf("tree proof: %v", err)
		}
		if err := tlog.CheckTree(proof, cp.tree.N, cp.tree.Hash, before.tree.N, before.tree.Hash); err != nil {
			return fmt.Errorf("old checkpoint %d is not a prefix: %v", before.tree.N, err)
		}
		fmt.Printf("consistency ok: %d -> %d\n", before.tree.N, cp.tree.N)
	}
	if *served != "" {
		n, err := checkServed(*served)
		if err != nil {
			return err
		}
		fmt.Printf("served proofs ok: %d\n", n)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tlogcheck:", err)
		os.Exit(1)
	}
}
