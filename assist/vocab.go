package assist

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// Vocabulary is every name a question can refer to: the values of each
// kind of entity found in a case's detections and their first events,
// with how often each was seen. Questions are matched against it, so the
// parser only ever names things the store holds. It is not changed once
// built, so questions may be parsed against it concurrently.
type Vocabulary struct {
	counts map[EntityKind]map[string]int
	// The names questions are matched against, built once: exact maps
	// each lower-case name to its keys, names lists the one-token names
	// for typo matching, phrases the names of several words (rule names),
	// longest first.
	exact   map[string][]nameKey
	names   []nameKey
	phrases []nameKey
}

// vocabFields are read from an event through the field catalog, so that
// the vocabulary agrees with what the scope's filter will select.
var vocabFields = []struct {
	kind EntityKind
	name string
}{
	{KindImage, "container.image.repository"},
	{KindIP, "fd.rip"},
	{KindIP, "ct.srcip"},
}

// NewVocabulary collects the names in c.
func NewVocabulary(c *Case) *Vocabulary {
	v := &Vocabulary{counts: map[EntityKind]map[string]int{}}
	if c == nil {
		return v
	}
	for i := range c.Detections {
		d := &c.Detections[i]
		e := d.Entities
		v.add(KindCluster, e.Cluster)
		v.add(KindNamespace, e.Namespace)
		v.add(KindPod, e.Pod)
		v.add(KindHost, e.Host)
		v.add(KindIdentity, e.Identity)
		v.add(KindRule, d.Rule)
		ev := c.Event(d)
		if ev == nil {
			// Without its event the image reference is all there is.
			v.add(KindImage, repository(e.Image))
			continue
		}
		v.addEvent(ev)
	}
	v.index()
	return v
}

func (v *Vocabulary) addEvent(ev *cairn.Event) {
	if ev.K8s != nil {
		v.add(KindWorkload, ev.K8s.WorkloadName)
	}
	if ev.Process != nil {
		v.add(KindProcess, ev.Process.Comm())
	}
	for _, f := range vocabFields {
		ref, err := field.Lookup(f.name)
		if err != nil {
			continue
		}
		val, ok := ref.Get(ev)
		if !ok {
			continue
		}
		s, _ := val.(string)
		if f.kind == KindIP && !looksLikeIP(s) {
			continue // ct.srcip may be a service name (ec2.amazonaws.com)
		}
		v.add(f.kind, s)
	}
}

func (v *Vocabulary) add(k EntityKind, val string) {
	val = strings.TrimSpace(val)
	if val == "" || val == "<NA>" {
		return
	}
	m := v.counts[k]
	if m == nil {
		m = map[string]int{}
		v.counts[k] = m
	}
	m[val]++
}

// Values returns the values of kind k, most frequent first (ties by
// name).
func (v *Vocabulary) Values(k EntityKind) []string {
	if v == nil {
		return nil
	}
	m := v.counts[k]
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	return out
}

// Count returns how many times value val of kind k was seen.
func (v *Vocabulary) Count(k EntityKind, val string) int {
	if v == nil {
		return 0
	}
	return v.counts[k][val]
}

// repository strips the tag and digest of an image reference
// ("ghcr.io/acme/api:1.2@sha256:..." → "ghcr.io/acme/api").
func repository(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}

// looksLikeIP is true for an IPv4 or IPv6 address.
func looksLikeIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// nameKey is one way a question may name a value: the value itself
// (whole) or a distinctive part of it, in lower case.
type nameKey struct {
	kind    EntityKind
	value   string
	text    string
	words   []string // the words of a phrase key
	whole   bool
	letters int    // how many letters text has: how many typos it tolerates
	digits  string // the digits of text, which a typo may not change
}

func (v *Vocabulary) index() {
	// Keys are added in a fixed order, so that map order never decides
	// which of two equal matches comes first.
	kinds := make([]EntityKind, 0, len(v.counts))
	for k := range v.counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	v.exact = map[string][]nameKey{}
	for _, k := range kinds {
		for _, val := range v.Values(k) {
			v.addKey(k, val, val, true)
			for _, p := range parts(k, val) {
				v.addKey(k, val, p, false)
			}
		}
	}
	slices.SortStableFunc(v.phrases, func(a, b nameKey) int { return cmp.Compare(len(b.words), len(a.words)) })
}

func (v *Vocabulary) addKey(k EntityKind, val, text string, whole bool) {
	text = strings.ToLower(text)
	key := nameKey{kind: k, value: val, text: text, whole: whole}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r):
			key.letters++
		case unicode.IsDigit(r):
			key.digits += string(r)
		}
	}
	if words := wordsOf(text); strings.ContainsFunc(text, unicode.IsSpace) {
		if len(words) == 0 {
			return
		}
		key.words = words
		v.phrases = append(v.phrases, key)
		return
	}
	v.exact[text] = append(v.exact[text], key)
	v.names = append(v.names, key)
}

func wordsOf(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// parts returns the distinctive parts of a value that a question may name
// it by: a pod's workload prefix (payment-api-7f9c-x2 → payment-api), an
// identity's user or role name (arn:aws:iam::1:user/Admin6 → Admin6 and
// user/Admin6), an image repository's last segment, a host's first label
// (ip-10-5-3-31.ec2.internal → ip-10-5-3-31).
func parts(k EntityKind, val string) []string {
	var out []string
	add := func(p string) {
		if len(p) >= 3 && p != val && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	switch k {
	case KindPod:
		add(podPrefix(val))
	case KindIdentity:
		if i := strings.LastIndexByte(val, '/'); i >= 0 {
			add(val[i+1:])
		}
		if i := strings.LastIndexByte(val, ':'); i >= 0 {
			add(val[i+1:])
		}
	case KindImage:
		if i := strings.LastIndexByte(val, '/'); i >= 0 {
			add(val[i+1:])
		}
	case KindHost:
		if i := strings.IndexByte(val, '.'); i > 0 && !looksLikeIP(val) {
			add(val[:i])
		}
	}
	return out
}

// podPrefix strips the up to two generated segments Kubernetes appends to
// a pod's name: the random suffix and the ReplicaSet's hash are drawn from
// an alphabet without vowels (bcdfghjklmnpqrstvwxz2456789), a CronJob's
// is a number.
func podPrefix(pod string) string {
	for range 2 {
		i := strings.LastIndexByte(pod, '-')
		if i <= 0 || !generated(pod[i+1:]) {
			break
		}
		pod = pod[:i]
	}
	return pod
}

func generated(seg string) bool {
	if seg == "" {
		return false
	}
	digits := strings.Trim(seg, "0123456789") == ""
	safe := strings.Trim(seg, "bcdfghjklmnpqrstvwxz2456789") == ""
	return digits || safe
}

// kindPreference decides between values of different kinds that one word
// names equally well: a bare name is taken for the widest scope that
// carries it (a namespace before the workload of the same name, which the
// namespace's scope includes), then for the more specific thing.
var kindPreference = []EntityKind{KindNamespace, KindWorkload, KindCluster, KindPod, KindIdentity, KindHost, KindImage,
	KindProcess, KindRule, KindIP}

// kindWords are the words that name a kind before or after a value
// ("namespace payments", "the payments namespace", "user Admin6").
var kindWords = map[string][]EntityKind{}

func init() {
	for k, ws := range map[EntityKind]string{
		KindCluster:   "cluster clusters",
		KindNamespace: "namespace namespaces ns",
		KindWorkload:  "workload workloads deployment deployments daemonset statefulset cronjob job app application",
		KindPod:       "pod pods container containers",
		KindImage:     "image images repository repo container containers",
		KindHost:      "host hosts hostname node nodes machine instance server vm ec2",
		KindIdentity:  "identity identities user users role roles principal arn iam account credential credentials",
		KindRule:      "rule rules detection detections alert alerts",
		KindProcess:   "process processes binary binaries command program executable proc exe",
		KindIP:        "ip ips address addresses addr",
	} {
		for _, w := range strings.Fields(ws) {
			kindWords[w] = append(kindWords[w], k)
		}
	}
}

// commonWords are English words and words of questions that never name
// an entity on their own, whatever the store holds; with a kind word next
// to them they may ("namespace default"). The synonym forms of the intent
// rules and the kind words are never names on their own either.
var commonWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the a an and or of to in on for from with by at as is are was were be been
		this that these those it its they them their there here what which who whom whose when where why how
		do does did done can could should would will may might must i me my we us our you your he she his her
		all any some every each no not yes more most many much few give show list tell get got make made let see
		find need want please thanks about into over under after before during since until again then than so if
		but just only also very now last past previous recent today yesterday hour hours day days week weeks
		month months minute minutes time new old detailed detail details full guidance guide step steps affected
		resources resource malicious root attack attacks path kill chain radius blast incident investigation
		generate write up doing going happened security threat risk data cloud kubernetes k8s aws id default
		everything everywhere whole entire across environment other same first next top bad suspicious activity
		happening started created used using run running ran ask answer question questions one two three`) {
		commonWords[w] = true
	}
}

// stopword reports whether a one-word token is a common or intent word.
func stopword(w string) bool {
	if commonWords[w] || kindWords[w] != nil {
		return true
	}
	if _, ok := synExact[w]; ok {
		return true
	}
	for _, p := range synPrefix {
		if strings.HasPrefix(w, p[0]) {
			return true
		}
	}
	return false
}

// Match qualities, best last.
const (
	fuzzyPart = iota + 1
	fuzzyWhole
	exactPart
	exactWhole
)

type candidate struct {
	key     nameKey
	quality int
}

// match finds the vocabulary's values that toks name and marks the tokens
// that name them as used. Phrases (rule names) are matched first, longest
// first, then single tokens. See resolve for the choice between values
// one token names.
func (v *Vocabulary) match(toks []token) []Entity {
	if v == nil {
		return nil
	}
	var out []Entity
	add := func(es []Entity) {
		for _, e := range es {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	type wordAt struct {
		word string
		tok  int
	}
	var words []wordAt
	for i, t := range toks {
		for _, w := range t.words {
			words = append(words, wordAt{w, i})
		}
	}
	for _, key := range v.phrases {
		for start := 0; start+len(key.words) <= len(words); start++ {
			exact := true
			ok := true
			for j, kw := range key.words {
				w := words[start+j]
				if toks[w.tok].used {
					ok = false
					break
				}
				if w.word == kw {
					continue
				}
				if !similar(w.word, kw, letters(kw), digitsOf(kw)) {
					ok = false
					break
				}
				exact = false
			}
			if !ok {
				continue
			}
			first, last := words[start].tok, words[start+len(key.words)-1].tok
			for i := first; i <= last; i++ {
				toks[i].used = true
			}
			q := fuzzyWhole
			if exact {
				q = exactWhole
			}
			add(resolve([]candidate{{key, q}}, nil, false))
		}
	}
	for i := range toks {
		t := &toks[i]
		if t.used || utf8.RuneCountInString(t.text) < 2 {
			continue
		}
		common := len(t.words) == 1 && t.words[0] == t.text && stopword(t.text)
		var cands []candidate
		for _, key := range v.exact[t.text] {
			q := exactPart
			if key.whole {
				q = exactWhole
			}
			cands = append(cands, candidate{key, q})
		}
		if len(cands) == 0 && !common {
			cands = v.fuzzy(t.text)
		}
		if es := resolve(cands, hintedKinds(toks, i), common); len(es) > 0 {
			t.used = true
			add(es)
		}
	}
	return out
}

// fuzzy returns the one-token names within a small edit distance of w:
// one edit for names of at least 5 letters, two for 9. Digits must be
// the same, since ip-10-5-3-13 is another host than ip-10-5-3-31, not a
// typo.
func (v *Vocabulary) fuzzy(w string) []candidate {
	if letters(w) < 4 || len(w) > 256 {
		return nil
	}
	d := digitsOf(w)
	var out []candidate
	for _, key := range v.names {
		if !similar(w, key.text, key.letters, key.digits) || d != key.digits {
			continue
		}
		q := fuzzyPart
		if key.whole {
			q = fuzzyWhole
		}
		out = append(out, candidate{key, q})
	}
	return out
}

// similar reports whether w is a typo of name, which has nameLetters
// letters and the digits nameDigits.
func similar(w, name string, nameLetters int, nameDigits string) bool {
	max := 0
	switch {
	case nameLetters >= 9:
		max = 2
	case nameLetters >= 5:
		max = 1
	}
	if max == 0 || digitsOf(w) != nameDigits {
		return false
	}
	if n := len(w) - len(name); n > max || -n > max {
		return false
	}
	return editDistance(w, name, max) <= max
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// editDistance is the Levenshtein distance between a and b in runes,
// or max+1 when it is more than max.
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// fillers may stand between a kind word and its value ("the pod named
// x").
var fillers = map[string]bool{"the": true, "a": true, "an": true, "called": true, "named": true, "is": true}

// hintedKinds returns the kinds named by the word before token i (past
// fillers) and the word after it.
func hintedKinds(toks []token, i int) []EntityKind {
	var out []EntityKind
	for j := i - 1; j >= 0; j-- {
		if !fillers[toks[j].text] {
			out = append(out, kindWords[toks[j].text]...)
			break
		}
	}
	if i+1 < len(toks) {
		out = append(out, kindWords[toks[i+1].text]...)
	}
	return out
}

// resolve chooses what one token names among the candidates. A kind word
// next to it decides first: "pod payment-api" is the pods whose name
// starts so, not the workload. Then the best match wins (the whole value
// before a part, an exact match before a typo); between kinds matched
// equally well, kindPreference decides. Several values of the chosen kind
// and quality are all returned: they are alternatives (the two pods of
// one workload). A common word names a value only when it is the whole
// value and a kind word says which kind.
func resolve(cands []candidate, hinted []EntityKind, common bool) []Entity {
	if len(hinted) > 0 {
		var kept []candidate
		for _, c := range cands {
			if slices.Contains(hinted, c.key.kind) {
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			cands = kept
		} else if common {
			return nil
		}
	} else if common {
		return nil
	}
	best, kind := 0, EntityKind("")
	for _, c := range cands {
		if common && c.quality != exactWhole {
			continue
		}
		better := c.quality > best ||
			c.quality == best && slices.Index(kindPreference, c.key.kind) < slices.Index(kindPreference, kind)
		if better {
			best, kind = c.quality, c.key.kind
		}
	}
	var out []Entity
	for _, c := range cands {
		e := Entity{Kind: c.key.kind, Value: c.key.value}
		if c.quality == best && c.key.kind == kind && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}
