//! Every colour and emphasis the interface uses, in one place.
//!
//! Meaning never rests on colour alone: statuses carry a word and a symbol, diff lines a `+`/`-`
//! marker, the selection a `>` marker. With NO_COLOR set the theme drops colours and keeps bold,
//! underline and reverse video.

use ratatui::style::{Color, Modifier, Style};

use crate::finding::{Severity, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless NO_COLOR is set to a non-empty value (<https://no-color.org>).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    pub const fn colored() -> Self {
        Self { color: true }
    }

    pub const fn monochrome() -> Self {
        Self { color: false }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn bg(self, color: Color) -> Style {
        if self.color {
            Style::new().bg(color)
        } else {
            Style::new()
        }
    }

    pub fn status(self, status: Status) -> Style {
        match status {
            Status::Fail => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Status::Pass => self.fg(Color::Green),
            Status::NotApplicable => self.fg(Color::DarkGray),
            Status::Error => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
        }
    }

    pub fn severity(self, severity: Severity) -> Style {
        match severity {
            Severity::High => self.fg(Color::Red),
            Severity::Medium => self.fg(Color::Yellow),
            Severity::Low => self.fg(Color::Blue),
        }
    }

    /// The selected row of the focused list.
    pub fn selected(self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    pub fn heading(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn accepted(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    pub fn unsafe_fix(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn banner(self) -> Style {
        self.fg(Color::Black)
            .patch(self.bg(Color::Yellow))
            .add_modifier(Modifier::BOLD)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// The marked line of a code excerpt.
    pub fn marked_line(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn diff_header(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn diff_hunk(self) -> Style {
        self.fg(Color::Magenta)
    }

    pub fn diff_added(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn diff_removed(self) -> Style {
        self.fg(Color::Red)
    }

    /// The changed words within an added line.
    pub fn diff_added_word(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    /// The changed words within a removed line.
    pub fn diff_removed_word(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }
}
