//! The pull reader: decoded text in, elements, text and ends out, with the security policy
//! enforced on the way (see the module's header).

use std::io::Read;

use super::tag::{Attributes, Open, Tag};
use crate::{Position, TextKind, Tracked};
use contextworker_guest::{Config, FeedReader, Location, ModuleError, ProductSink, Warning};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Nesting beyond this is refused: no real feed comes close, and it bounds the open-element
/// stacks a hostile feed could grow.
pub const MAX_DEPTH: usize = 256;

/// The longest run of text without markup. quick-xml buffers a whole text node; without a cap a
/// feed that is one huge text node would exhaust guest memory and trap instead of failing with
/// a reason.
pub const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;

/// What a module chooses about how strictly markup is read; the security policy (see the
/// module's header) is not among the choices.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Recover from a lone `&`, undefined entities, bad attributes and HTML-style unclosed
    /// elements, with a warning each, instead of failing the feed.
    pub lenient: bool,
    /// Refuse a DOCTYPE that declares entities even when the feed never uses them. Without it a
    /// declaration is harmless (references to it fail, nothing is expanded) and the error comes
    /// at the first reference.
    pub refuse_entity_declarations: bool,
}

impl From<bool> for Rules {
    /// Just the `lenient` flag, the other rules at their defaults.
    fn from(lenient: bool) -> Self {
        Self {
            lenient,
            ..Self::default()
        }
    }
}

#[derive(Debug)]
pub enum Node<'a> {
    Start(Tag<'a>),
    /// Element `name` ended; `depth` elements are still open.
    End {
        name: &'a str,
        depth: usize,
    },
    /// Character data was appended to the caller's text buffer.
    Text,
    Eof,
}

/// What [`Xml::advance`] read; the data stays in the reader, so no borrow outlives the call.
#[derive(Debug, Clone, Copy)]
enum Step {
    Start,
    End,
    Text,
    Eof,
}

pub struct Xml {
    reader: Reader<Tracked<MarkupGuard<Box<dyn Read>>>>,
    buf: Vec<u8>,
    rules: Rules,
    open: Open,
    /// The last start tag's attributes, as written and decoded, and whether it was `<x/>`.
    raw_attrs: String,
    attrs: Attributes,
    empty: bool,
    /// End tags implied by a lenient recovery or an empty element, handed out one per call.
    implied_ends: usize,
    root_closed: bool,
    /// Lenient recoveries so far; only the first few are reported one by one.
    recoveries: usize,
    pub warnings: Vec<Warning>,
}

/// Recoveries reported individually before they are only counted: a feed with HTML pasted into
/// every description would otherwise produce thousands of identical warnings.
const DETAILED_RECOVERIES: usize = 20;

impl std::fmt::Debug for Xml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xml")
            .field("depth", &self.open.len())
            .finish_non_exhaustive()
    }
}

impl Xml {
    /// The shape of every XML transformer's `transform`: take the feed out of the SDK's reader
    /// (decoding needs an owned reader; the SDK never reads it after `transform`), run `parse`,
    /// and hand on the reader's own warnings (encoding fallbacks, lenient recoveries) whether
    /// or not the parse succeeded.
    ///
    /// `rules` is a [`Rules`], or just the `lenient` flag.
    pub fn run<T>(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
        rules: impl Into<Rules>,
        parse: impl FnOnce(&mut Xml, &mut ProductSink) -> Result<T, ModuleError>,
    ) -> Result<T, ModuleError> {
        // A blank `encoding` is an unset one, not an encoding named "".
        let encoding = config
            .get("encoding")
            .map(str::trim)
            .filter(|e| !e.is_empty());
        let mut xml = Self::new(input.take(), encoding, rules)?;
        // The decoder's warnings (an encoding fallback) come before the products, the reader's
        // recoveries after them.
        for warning in xml.warnings.drain(..) {
            out.warn(warning);
        }
        let result = parse(&mut xml, out);
        for warning in xml.warnings.drain(..) {
            out.warn(warning);
        }
        result
    }

    /// Decode `input` (declared encoding, BOM, or the `encoding` override) and set up the reader.
    pub fn new(
        input: impl Read + 'static,
        encoding: Option<&str>,
        rules: impl Into<Rules>,
    ) -> Result<Self, ModuleError> {
        let rules = rules.into();
        let decoded = crate::decode(input, TextKind::Xml, encoding)?;
        let guarded = MarkupGuard {
            inner: decoded.reader,
            since_markup: 0,
        };
        let mut reader = Reader::from_reader(Tracked::new(guarded));
        let config = reader.config_mut();
        // Empty elements are expanded by `next` itself, so a `Tag` can say it was one.
        config.expand_empty_elements = false;
        // Lenient mode matches end tags itself, HTML-style (see `next`).
        config.check_end_names = !rules.lenient;
        config.allow_unmatched_ends = rules.lenient;
        config.allow_dangling_amp = rules.lenient;
        Ok(Self {
            reader,
            buf: Vec::with_capacity(8 * 1024),
            rules,
            open: Open::default(),
            raw_attrs: String::new(),
            attrs: Attributes::default(),
            empty: false,
            implied_ends: 0,
            root_closed: false,
            recoveries: 0,
            warnings: decoded.warnings,
        })
    }

    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// Where the reader is now (the end of the last event).
    pub fn location(&self) -> Location {
        self.reader.get_ref().location()
    }

    /// The first element, or an error saying the input is not XML.
    pub fn root(&mut self) -> Result<Tag<'_>, ModuleError> {
        let mut text = String::new();
        loop {
            match self.advance(Some(&mut text))? {
                Step::Start => return Ok(self.tag()),
                Step::Text => {
                    if !text.trim().is_empty() {
                        let snippet: String = text.trim().chars().take(40).collect();
                        return Err(ModuleError::invalid_input(format!(
                            "not an XML document: text {snippet:?} before the first element"
                        ))
                        .at(self.location()));
                    }
                    text.clear();
                }
                Step::End => {}
                Step::Eof => {
                    return Err(
                        ModuleError::invalid_input("the feed is empty: no root element")
                            .at(self.location()),
                    );
                }
            }
        }
    }

    /// The next event. Text, CDATA and references are resolved and appended to `text`.
    #[inline]
    pub fn next(&mut self, text: &mut String) -> Result<Node<'_>, ModuleError> {
        let step = self.advance(Some(text))?;
        Ok(self.node(step))
    }

    /// [`Xml::next`] for stretches whose text the caller ignores (the whitespace between
    /// elements, a skipped subtree): text is still checked (no text outside the root, no
    /// undefined entity) but not decoded or copied, which is most of a text event's cost.
    #[inline]
    pub fn next_skipping_text(&mut self) -> Result<Node<'_>, ModuleError> {
        let step = self.advance(None)?;
        Ok(self.node(step))
    }

    #[inline]
    fn node(&self, step: Step) -> Node<'_> {
        match step {
            Step::Start => Node::Start(self.tag()),
            Step::End => Node::End {
                name: self.open.closed(),
                depth: self.open.len(),
            },
            Step::Text => Node::Text,
            Step::Eof => Node::Eof,
        }
    }

    /// The start tag just read: the innermost open element.
    #[inline]
    fn tag(&self) -> Tag<'_> {
        // Only called right after a start tag opened, so `top` is that tag.
        let (name, at) = self.open.top().unwrap_or_default();
        Tag {
            name,
            attrs: self.attrs.as_slice(),
            raw_attrs: &self.raw_attrs,
            location: at.location(),
            empty: self.empty,
            depth: self.open.len(),
        }
    }

    /// One event; character data goes to `text`, or is only checked when there is none.
    /// Not forced inline: natively that helps, but a guest compiled by Cranelift with the
    /// event loop inlined into the parser's was 1.11x slower (BENCHMARKS.md).
    fn advance(&mut self, mut text: Option<&mut String>) -> Result<Step, ModuleError> {
        if self.implied_ends > 0 {
            self.implied_ends -= 1;
            self.close_top();
            return Ok(Step::End);
        }
        loop {
            // Where the event starts: quick-xml consumes exactly one event per call, so this is
            // the line and character column of markup even when it spans lines.
            let here = self.reader.get_ref().position();
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                // The decoder's and the markup guard's errors say what is wrong themselves.
                Err(quick_xml::Error::Io(io)) => {
                    return Err(crate::encoding::io_error(&io, self.location()));
                }
                Err(e) => {
                    let e = e.to_string();
                    return Err(self.syntax_error(&e));
                }
            };
            match event {
                Event::Start(ref start) | Event::Empty(ref start) => {
                    check_shape(start, here, self.open.len(), self.root_closed)?;
                    let lost = decode_attributes(start, here, self.rules.lenient, &mut self.attrs)?;
                    self.raw_attrs.clear();
                    self.raw_attrs.push_str(start.attributes_raw());
                    self.open.push(start.name().0, here);
                    self.empty = matches!(event, Event::Empty(_));
                    if self.empty {
                        self.implied_ends += 1;
                    }
                    for warning in lost {
                        self.recovered(warning);
                    }
                    return Ok(Step::Start);
                }
                Event::End(end) => {
                    // Strict mode: quick-xml has checked the name against the open element.
                    if !self.rules.lenient {
                        self.close_top();
                        return Ok(Step::End);
                    }
                    let name = end.name().0.to_owned();
                    if self.lenient_end(&name, here) {
                        return Ok(Step::End);
                    }
                }
                Event::Text(t) => {
                    if self.open.is_empty() {
                        let content = t.xml10_content();
                        if !content.trim().is_empty() {
                            return Err(text_outside_root(&content, self.root_closed, here));
                        }
                    }
                    if let Some(text) = text.as_deref_mut() {
                        text.push_str(&t.xml10_content());
                    }
                    return Ok(Step::Text);
                }
                Event::CData(c) => {
                    if let Some(text) = text.as_deref_mut() {
                        text.push_str(&c.xml10_content());
                    }
                    return Ok(Step::Text);
                }
                Event::GeneralRef(r) => {
                    let name: &str = &r;
                    match (predefined(name), text.as_deref_mut()) {
                        (Some(resolved), Some(text)) => text.push_str(resolved),
                        (Some(_), None) => {}
                        (None, text) => {
                            let char_ref = r.is_char_ref().then(|| r.resolve_char_ref());
                            let name = name.to_owned();
                            let mut scratch = String::new();
                            self.reference(&name, char_ref, here, text.unwrap_or(&mut scratch))?;
                        }
                    }
                    return Ok(Step::Text);
                }
                // Never expanded: an internal subset may declare entities, but references to
                // them fail above, so entity-expansion bombs have nothing to work with. External
                // DTDs (`SYSTEM "shops.dtd"`) are never fetched.
                Event::DocType(d) => {
                    if self.rules.refuse_entity_declarations && d.contains("<!ENTITY") {
                        return Err(ModuleError::invalid_input(
                            "the DOCTYPE declares entities (<!ENTITY ...>); custom entities are \
                             never expanded, so this feed cannot be read safely",
                        )
                        .at(here.location()));
                    }
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => return self.eof().map(|()| Step::Eof),
            }
        }
    }

    /// The end of the document: every element must be closed.
    #[inline(never)]
    fn eof(&mut self) -> Result<(), ModuleError> {
        if let Some((name, opened)) = self.open.top() {
            let opened = opened.location();
            return Err(ModuleError::invalid_input(format!(
                "the feed ends inside <{name}> (opened at {opened}): the file is truncated or \
                 not closed"
            ))
            .at(self.location()));
        }
        if self.recoveries > DETAILED_RECOVERIES {
            self.warnings.push(Warning::new(format!(
                "lenient mode recovered from {} problems in the markup; the first \
                 {DETAILED_RECOVERIES} were reported",
                self.recoveries
            )));
        }
        Ok(())
    }

    /// HTML-style recovery (lenient mode): an end tag closes the nearest open element of that
    /// name and every element left open inside it (`<br>`, `<p>` without `</p>`); an end tag
    /// matching nothing open is dropped. True when an element was closed.
    #[inline(never)]
    fn lenient_end(&mut self, name: &str, here: Position) -> bool {
        let Some(at) = self.open.find(name) else {
            let warning = Warning::new(format!(
                "</{name}> matches no open element and is ignored (lenient mode)"
            ))
            .at(here.location());
            self.recovered(warning);
            return false;
        };
        let implied = self.open.len() - at - 1;
        if let Some((inner, opened)) = self.open.top().filter(|_| implied > 0) {
            let opened = opened.location();
            let warning = Warning::new(format!(
                "</{name}> closes <{inner}> (opened at {opened}) and {} more element(s) left \
                 open (lenient mode)",
                implied - 1
            ))
            .at(here.location());
            self.recovered(warning);
        }
        self.implied_ends = implied;
        self.close_top();
        true
    }

    /// A reference other than the five predefined entities: a character reference, or an
    /// undefined entity (an error, or kept as written in lenient mode).
    #[inline(never)]
    fn reference(
        &mut self,
        name: &str,
        char_ref: Option<Result<Option<char>, quick_xml::Error>>,
        here: Position,
        text: &mut String,
    ) -> Result<(), ModuleError> {
        match char_ref {
            Some(Ok(Some(ch))) => {
                text.push(ch);
                return Ok(());
            }
            Some(_) if self.rules.lenient => {}
            Some(result) => {
                let why = match result {
                    Err(e) => format!(": {e}"),
                    Ok(_) => String::new(),
                };
                return Err(ModuleError::invalid_input(format!(
                    "bad character reference &{name};{why}"
                ))
                .at(here.location()));
            }
            None => {}
        }
        if !self.rules.lenient {
            return Err(ModuleError::invalid_input(format!(
                "undefined entity &{name};: only &lt; &gt; &amp; &apos; &quot; and character \
                 references are allowed in XML (HTML entities such as &nbsp; must be inside \
                 CDATA or escaped as &amp;{name};); DTD entities are never expanded"
            ))
            .at(here.location()));
        }
        self.recovered(
            Warning::new(format!(
                "undefined entity &{name}; kept as written (lenient mode)"
            ))
            .at(here.location()),
        );
        text.push('&');
        text.push_str(name);
        text.push(';');
        Ok(())
    }

    fn recovered(&mut self, warning: Warning) {
        self.recoveries += 1;
        if self.recoveries <= DETAILED_RECOVERIES {
            self.warnings.push(warning);
        }
    }

    fn close_top(&mut self) {
        self.open.pop();
        if self.open.is_empty() {
            self.root_closed = true;
        }
    }

    fn syntax_error(&self, message: &str) -> ModuleError {
        let tracked = self.reader.get_ref();
        let at = self.reader.error_position();
        let mut location = tracked.location_at(at);
        let mut message = format!("the feed is not well-formed XML: {message}");
        if location.line.is_none() {
            // The construct began on an earlier line; give the line where reading stopped.
            let here = tracked.location();
            location.line = here.line;
            location.column = here.column;
            message.push_str(&format!(
                " (the construct starts at byte {at}; reading stopped at the line given)"
            ));
        }
        ModuleError::invalid_input(message).at(location)
    }
}

#[cold]
fn text_outside_root(content: &str, root_closed: bool, here: Position) -> ModuleError {
    let snippet: String = content.trim().chars().take(40).collect();
    let message = if root_closed {
        format!("text {snippet:?} after the end of the root element")
    } else {
        format!("the feed is not XML: it starts with text {snippet:?} instead of an element")
    };
    ModuleError::invalid_input(message).at(here.location())
}

fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

/// A start tag checked against the document's shape: one root, bounded depth.
fn check_shape(
    start: &BytesStart<'_>,
    at: Position,
    depth: usize,
    root_closed: bool,
) -> Result<(), ModuleError> {
    if depth == 0 && root_closed {
        return Err(ModuleError::invalid_input(format!(
            "a second root element <{}> after the end of the document",
            start.name().0
        ))
        .at(at.location()));
    }
    if depth >= MAX_DEPTH {
        return Err(ModuleError::invalid_input(format!(
            "elements nested deeper than {MAX_DEPTH} levels"
        ))
        .at(at.location()));
    }
    Ok(())
}

/// Decode a start tag's attributes into `attrs`, returning the problems lenient mode survived.
fn decode_attributes(
    start: &BytesStart<'_>,
    at: Position,
    lenient: bool,
    attrs: &mut Attributes,
) -> Result<Vec<Warning>, ModuleError> {
    attrs.clear();
    // Most elements of a feed have no attributes; skip setting up the parser for them.
    if start.attributes_raw().trim_ascii_start().is_empty() {
        return Ok(Vec::new());
    }
    let name = start.name().0;
    let location = at.location();
    let mut warnings = Vec::new();
    for attr in start.attributes() {
        let attr = match attr {
            Ok(attr) => attr,
            // Only the attributes are lost; the element structure is intact, so recovering
            // is safe. The raw text stays in `raw_attrs`.
            Err(e) if lenient => {
                warnings.push(
                    Warning::new(format!(
                        "bad attribute in <{name}> ignored (lenient mode): {e}"
                    ))
                    .at(location.clone()),
                );
                break;
            }
            Err(e) => {
                let written: String = start.chars().take(60).collect();
                return Err(ModuleError::invalid_input(format!(
                    "the feed is not well-formed XML: bad attribute in <{written}>: {e}"
                ))
                .at(location.clone()));
            }
        };
        let key = attr.key.0;
        match attr.normalized_value(XmlVersion::Implicit1_0) {
            Ok(value) => attrs.push(key, &value),
            Err(e) if lenient => {
                warnings.push(
                    Warning::new(format!(
                        "attribute {key} of <{name}> kept as written (lenient mode): {e}"
                    ))
                    .at(location.clone()),
                );
                attrs.push(key, &attr.value);
            }
            Err(e) => {
                return Err(ModuleError::invalid_input(format!(
                    "attribute {key} of <{name}>: {e} (DTD entities are never expanded)"
                ))
                .at(location.clone()));
            }
        }
    }
    Ok(warnings)
}

/// Fails the read once [`MAX_TEXT_BYTES`] pass without a `<`.
struct MarkupGuard<R> {
    inner: R,
    since_markup: usize,
}

impl<R: Read> Read for MarkupGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        let chunk = &out[..n];
        // Searching backwards stops at the chunk's last tag, a few bytes from its end.
        match memchr::memrchr(b'<', chunk) {
            Some(at) => self.since_markup = n - at - 1,
            None => self.since_markup += n,
        }
        if self.since_markup > MAX_TEXT_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "more than {} MiB of text without any markup: not a product feed",
                    MAX_TEXT_BYTES >> 20
                ),
            ));
        }
        Ok(n)
    }
}
