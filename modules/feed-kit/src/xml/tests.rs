use std::io::Cursor;

use super::{Node, Xml};

fn reader(xml: &str, lenient: bool) -> Xml {
    Xml::new(Cursor::new(xml.as_bytes().to_vec()), None, lenient).expect("reader starts")
}

/// Every event as text: `<name depth`, `>name depth`, `"` for text, `.` at the end.
fn events(xml: &mut Xml, skip_text: bool) -> Result<(Vec<String>, String), String> {
    let mut text = String::new();
    let mut seen = Vec::new();
    loop {
        let node = if skip_text {
            xml.next_skipping_text()
        } else {
            xml.next(&mut text)
        };
        match node.map_err(|e| e.to_string())? {
            Node::Start(tag) => seen.push(format!("<{} {}", tag.name, tag.depth)),
            Node::End { name, depth } => seen.push(format!(">{name} {depth}")),
            Node::Text => seen.push("\"".into()),
            Node::Eof => return Ok((seen, text)),
        }
    }
}

#[test]
fn end_events_name_the_element_they_close_at_every_depth() {
    let mut xml = reader("<a><b><c/></b><d>t</d><c x='1'>u</c></a>", false);
    let (seen, text) = events(&mut xml, false).expect("well-formed");
    assert_eq!(
        seen,
        [
            "<a 1", "<b 2", "<c 3", ">c 2", ">b 1", "<d 2", "\"", ">d 1", "<c 2", "\"", ">c 1",
            ">a 0"
        ]
    );
    assert_eq!(text, "tu");
}

#[test]
fn lenient_recovery_closes_the_elements_left_open_by_name() {
    let mut xml = reader("<a><p>x<br>y</a>", true);
    let (seen, _) = events(&mut xml, false).expect("lenient mode recovers");
    assert_eq!(
        seen,
        ["<a 1", "<p 2", "\"", "<br 3", "\"", ">br 2", ">p 1", ">a 0"]
    );
    assert_eq!(xml.warnings.len(), 1, "{:?}", xml.warnings);
}

#[test]
fn skipping_text_leaves_no_text_but_the_same_events() {
    let feed = "<a> x <b>y &amp; &#x41;</b><![CDATA[z]]></a>";
    let (read, text) = events(&mut reader(feed, false), false).expect("well-formed");
    assert_eq!(text, " x y & Az");
    let (skipped, _) = events(&mut reader(feed, false), true).expect("well-formed");
    assert_eq!(read, skipped);
}

#[test]
fn skipped_text_is_still_checked() {
    let undefined = events(&mut reader("<a>&nbsp;</a>", false), true).expect_err("refused");
    assert!(undefined.contains("undefined entity &nbsp;"), "{undefined}");
    let trailing = events(&mut reader("<a/>junk", false), true).expect_err("refused");
    assert!(
        trailing.contains("\"junk\" after the end of the root element"),
        "{trailing}"
    );
}
