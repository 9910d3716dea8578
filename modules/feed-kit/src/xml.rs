//! The XML plumbing the XML transformers share (hotline, google-merchant, dealer-xml):
//! decoding, a quick-xml pull reader with positions, entity policy, lenient recovery and
//! errors that name line, column and byte offset.

use std::io::Read;

use crate::{TextKind, Tracked};
use contextworker_guest::{Config, FeedReader, Location, ModuleError, ProductSink, Warning};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Nesting beyond this is refused: no real feed comes close, and it bounds the open-element
/// stacks a hostile feed could grow.
const MAX_DEPTH: usize = 256;

/// A start tag (empty elements arrive as a start and an end) with its attributes decoded.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The attributes as written, to re-serialize markup nested in a text field.
    pub raw_attrs: String,
    pub location: Location,
}

impl Tag {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The name without a namespace prefix.
    pub fn local(&self) -> &str {
        local_name(&self.name)
    }
}

pub fn local_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

#[derive(Debug)]
pub enum Node {
    Start(Tag),
    End(String),
    /// Character data was appended to the caller's text buffer.
    Text,
    Eof,
}

pub struct Xml {
    reader: Reader<Tracked<Box<dyn Read>>>,
    buf: Vec<u8>,
    /// Recover from a lone `&` and undefined entities (kept literally, with a warning).
    lenient: bool,
    open: Vec<(String, Location)>,
    /// End tags implied by a lenient recovery, handed out one per call.
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
    pub fn run<T>(
        input: &mut FeedReader,
        out: &mut ProductSink,
        config: &Config,
        lenient: bool,
        parse: impl FnOnce(&mut Xml, &mut ProductSink) -> Result<T, ModuleError>,
    ) -> Result<T, ModuleError> {
        let mut xml = Self::new(input.take(), config.get("encoding"), lenient)?;
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
        lenient: bool,
    ) -> Result<Self, ModuleError> {
        let decoded = crate::decode(input, TextKind::Xml, encoding)?;
        let mut reader = Reader::from_reader(Tracked::new(decoded.reader));
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        // Lenient mode matches end tags itself, HTML-style (see `next`).
        config.check_end_names = !lenient;
        config.allow_unmatched_ends = lenient;
        config.allow_dangling_amp = lenient;
        Ok(Self {
            reader,
            buf: Vec::with_capacity(8 * 1024),
            lenient,
            open: Vec::new(),
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
    pub fn root(&mut self) -> Result<Tag, ModuleError> {
        let mut text = String::new();
        loop {
            match self.next(&mut text)? {
                Node::Start(tag) => return Ok(tag),
                Node::Text => {
                    if !text.trim().is_empty() {
                        let snippet: String = text.trim().chars().take(40).collect();
                        return Err(ModuleError::invalid_input(format!(
                            "not an XML document: text {snippet:?} before the first element"
                        ))
                        .at(self.location()));
                    }
                    text.clear();
                }
                Node::End(_) => {}
                Node::Eof => {
                    return Err(
                        ModuleError::invalid_input("the feed is empty: no root element")
                            .at(self.location()),
                    );
                }
            }
        }
    }

    /// The next event. Text, CDATA and references are resolved and appended to `text`.
    pub fn next(&mut self, text: &mut String) -> Result<Node, ModuleError> {
        if self.implied_ends > 0 {
            self.implied_ends -= 1;
            return Ok(Node::End(self.close_top()));
        }
        loop {
            let before = self.reader.buffer_position();
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(e) => {
                    let e = e.to_string();
                    return Err(self.syntax_error(&e));
                }
            };
            match event {
                Event::Start(start) => {
                    if self.open.is_empty() && self.root_closed {
                        return Err(ModuleError::invalid_input(
                            "a second root element after the document ended",
                        )
                        .at(self.reader.get_ref().location_at(before)));
                    }
                    if self.open.len() >= MAX_DEPTH {
                        return Err(ModuleError::invalid_input(format!(
                            "elements nested deeper than {MAX_DEPTH} levels"
                        ))
                        .at(self.reader.get_ref().location_at(before)));
                    }
                    let location = self.reader.get_ref().location_at(before);
                    let mut lost = Vec::new();
                    let tag = tag(&start, location, self.lenient, &mut lost)?;
                    for warning in lost {
                        self.recovered(warning);
                    }
                    self.open.push((tag.name.clone(), tag.location.clone()));
                    return Ok(Node::Start(tag));
                }
                Event::End(end) => {
                    let name = end.name().0.to_owned();
                    if !self.lenient {
                        return Ok(Node::End(self.close_top()));
                    }
                    // HTML-style recovery: an end tag closes the nearest open element of that
                    // name and every element left open inside it (`<br>`, `<p>` without `</p>`);
                    // an end tag matching nothing open is dropped.
                    match self.open.iter().rposition(|(open, _)| *open == name) {
                        Some(at) => {
                            let implied = self.open.len() - at - 1;
                            if implied > 0 {
                                let (inner, opened) = &self.open[self.open.len() - 1];
                                self.recovered(
                                    Warning::new(format!(
                                        "</{name}> closes <{inner}> (opened at {opened}) and {} more element(s) left \
                                         open (lenient mode)",
                                        implied - 1
                                    ))
                                    .at(self.reader.get_ref().location_at(before)),
                                );
                            }
                            self.implied_ends = implied;
                            return Ok(Node::End(self.close_top()));
                        }
                        None => {
                            self.recovered(
                                Warning::new(format!(
                                    "</{name}> matches no open element and is ignored (lenient mode)"
                                ))
                                .at(self.reader.get_ref().location_at(before)),
                            );
                        }
                    }
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    if self.open.is_empty() && !content.trim().is_empty() {
                        let snippet: String = content.trim().chars().take(40).collect();
                        let what = if self.root_closed {
                            "text after the root element"
                        } else {
                            "not an XML document: text before the first element"
                        };
                        return Err(ModuleError::invalid_input(format!("{what}: {snippet:?}"))
                            .at(self.reader.get_ref().location_at(before)));
                    }
                    text.push_str(&content);
                    return Ok(Node::Text);
                }
                Event::CData(c) => {
                    text.push_str(&c.xml10_content());
                    return Ok(Node::Text);
                }
                Event::GeneralRef(r) => {
                    let name: &str = &r;
                    if let Some(resolved) = predefined(name) {
                        text.push_str(resolved);
                        return Ok(Node::Text);
                    }
                    if r.is_char_ref() {
                        match r.resolve_char_ref() {
                            Ok(Some(ch)) => {
                                text.push(ch);
                                return Ok(Node::Text);
                            }
                            _ if self.lenient => {}
                            _ => {
                                return Err(ModuleError::invalid_input(format!(
                                    "invalid character reference &{name};"
                                ))
                                .at(self.reader.get_ref().location_at(before)));
                            }
                        }
                    }
                    if !self.lenient {
                        return Err(ModuleError::invalid_input(format!(
                            "undefined entity &{name}; (only XML's five predefined entities and \
                             character references are accepted; DTD entities are never expanded)"
                        ))
                        .at(self.reader.get_ref().location_at(before)));
                    }
                    let name = name.to_owned();
                    self.recovered(
                        Warning::new(format!(
                            "undefined entity &{name}; kept as written (lenient mode)"
                        ))
                        .at(self.reader.get_ref().location_at(before)),
                    );
                    text.push('&');
                    text.push_str(&name);
                    text.push(';');
                    return Ok(Node::Text);
                }
                // Never expanded: an internal subset may declare entities, but references to
                // them fail above, so entity-expansion bombs have nothing to work with.
                Event::DocType(_) | Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                // `expand_empty_elements` turns these into a start and an end.
                Event::Empty(_) => {
                    return Err(ModuleError::internal("unexpected empty-element event"));
                }
                Event::Eof => {
                    if let Some((name, opened)) = self.open.last() {
                        return Err(ModuleError::invalid_input(format!(
                            "the feed ends inside <{name}> (opened at {opened}): the file is \
                             truncated or not closed"
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
                    return Ok(Node::Eof);
                }
            }
        }
    }

    fn recovered(&mut self, warning: Warning) {
        self.recoveries += 1;
        if self.recoveries <= DETAILED_RECOVERIES {
            self.warnings.push(warning);
        }
    }

    fn close_top(&mut self) -> String {
        let name = self.open.pop().map(|(name, _)| name).unwrap_or_default();
        if self.open.is_empty() {
            self.root_closed = true;
        }
        name
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

fn tag(
    start: &BytesStart<'_>,
    location: Location,
    lenient: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Tag, ModuleError> {
    let name = start.name().0.to_owned();
    let mut attrs = Vec::new();
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
                return Err(
                    ModuleError::invalid_input(format!("bad attribute in <{name}>: {e}"))
                        .at(location),
                );
            }
        };
        let key = attr.key.0.to_owned();
        let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(e) if lenient => {
                warnings.push(
                    Warning::new(format!(
                        "attribute {key} of <{name}> kept as written (lenient mode): {e}"
                    ))
                    .at(location.clone()),
                );
                attr.value.clone().into_owned()
            }
            Err(e) => {
                return Err(ModuleError::invalid_input(format!(
                    "attribute {key} of <{name}>: {e} (DTD entities are never expanded)"
                ))
                .at(location));
            }
        };
        attrs.push((key, value));
    }
    Ok(Tag {
        raw_attrs: start.attributes_raw().trim().to_owned(),
        name,
        attrs,
        location,
    })
}

/// Decode the HTML entities a feed escaped twice (`&amp;gt;` arrives as `&gt;`) in fields that
/// are plain text. Only the common ones: anything else stays as written.
pub fn unescape_twice_escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        // Entity names are ASCII, so a `;` within the next few bytes is on a char boundary.
        let entity = tail.as_bytes()[1..]
            .iter()
            .take(9)
            .position(|b| *b == b';')
            .map(|end| &tail[1..=end]);
        let replacement = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" | "#160" => Some('\u{a0}'),
            _ => None,
        });
        match (entity, replacement) {
            (Some(e), Some(ch)) => {
                out.push(ch);
                rest = &tail[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Append a nested element's start tag to a text field that carries markup (HTML descriptions
/// written as elements instead of CDATA).
pub fn push_start_markup(text: &mut String, tag: &Tag) {
    text.push('<');
    text.push_str(&tag.name);
    if !tag.raw_attrs.is_empty() {
        text.push(' ');
        text.push_str(&tag.raw_attrs);
    }
    text.push('>');
}

pub fn push_end_markup(text: &mut String, name: &str) {
    text.push_str("</");
    text.push_str(name);
    text.push('>');
}

/// The module that fits a feed whose root element is `root`, for "wrong module" errors.
pub fn module_for_root(root: &str) -> Option<&'static str> {
    Some(match local_name(root) {
        "yml_catalog" => "yml",
        "price" => "hotline",
        "rss" | "feed" => "google-merchant",
        "root" => "dealer-xml",
        "Workbook" => "none (an Excel 2003 SpreadsheetML workbook: export it to CSV for `csv`)",
        _ => return None,
    })
}

/// `unsupported` error for a feed of another format.
pub fn wrong_format(root: &Tag, this_module: &str, expected: &str) -> ModuleError {
    let hint = match module_for_root(&root.name) {
        Some(m) if m != this_module => format!("; use the `{m}` module"),
        _ => String::new(),
    };
    ModuleError::unsupported(format!(
        "root element <{}> at {}: this is not a feed for `{this_module}` (expected {expected}){hint}",
        root.name, root.location
    ))
}
