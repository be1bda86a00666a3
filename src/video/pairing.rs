//! CLI thread: img2img output frames paired with the guide frames they were drawn from, by the
//! number in their names. A tool's output folder holds its earlier runs too, and ComfyUI counts
//! from 1 (`ComfyUI_00001_.png` is guide frame 0): the images are taken in runs (names that differ
//! only in their number), and the run and offset that fit the guides are found, or given.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Image files `--side-by-side` and `--frames` read, by extension.
const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "webp"];

/// How output frames are matched to guide frames: the image whose number is the guide's frame
/// index plus `offset`, among the images of one run (the files whose names differ only in their
/// number, such as `ComfyUI_00001_.png …`). Unset fields are found: offset 0 or 1 (ComfyUI counts
/// from 1), the one run that has an image for every guide frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairing {
    pub offset: Option<i64>,
    /// The run's name before its number, separators aside: `ComfyUI` for `ComfyUI_00001_.png`.
    pub prefix: Option<String>,
}

/// Why a folder of output frames cannot be paired with the guides.
#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error("cannot read {}: {source}", dir.display())]
    Read { dir: PathBuf, source: io::Error },
    #[error(
        "{} holds no numbered images{} (PNG, JPEG or WebP, such as 000042.png or \
         ComfyUI_00042_.png)",
        dir.display(),
        prefix.as_ref().map_or_else(String::new, |prefix| format!(" named {prefix}…"))
    )]
    NoImages {
        dir: PathBuf,
        prefix: Option<String>,
    },
    #[error(
        "{} has no output frame numbered {number} ({name}) for guide frame {frame_idx}: every \
         guide frame needs one ({run}; --offset and --prefix choose another)",
        dir.display()
    )]
    Missing {
        dir: PathBuf,
        number: i128,
        name: String,
        frame_idx: u64,
        run: String,
    },
    #[error(
        "{} holds more than one run of images that fits the guides ({first}, and {second}): \
         choose one with --prefix or --offset",
        dir.display()
    )]
    Ambiguous {
        dir: PathBuf,
        first: String,
        second: String,
    },
    #[error("{} holds two files numbered {number}: {} and {}", dir.display(), first.display(), second.display())]
    Duplicate {
        dir: PathBuf,
        number: u64,
        first: PathBuf,
        second: PathBuf,
    },
}

/// Output frames paired with the guide frames, and how.
#[derive(Debug, Clone)]
pub struct Paired {
    pub dir: PathBuf,
    /// The image for each guide frame.
    pub(super) frames: BTreeMap<u64, PathBuf>,
    /// The run's names, such as `ComfyUI_#####_.png`.
    run: String,
    /// Image number minus guide frame.
    offset: i64,
    /// Numbered images in the folder that are not used.
    num_left_out: usize,
}

impl fmt::Display for Paired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |path: Option<&PathBuf>| {
            path.and_then(|path| path.file_name())
                .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
        };
        let number = match self.offset {
            0 => "k".to_owned(),
            offset if offset > 0 => format!("k+{offset}"),
            offset => format!("k{offset}"),
        };
        write!(
            f,
            "{}: guide frame k paired with {} number {number} ({} to {})",
            self.dir.display(),
            self.run,
            name(self.frames.values().next()),
            name(self.frames.values().next_back()),
        )?;
        match self.num_left_out {
            0 => Ok(()),
            1 => write!(f, "; 1 other image there is not used"),
            n => write!(f, "; {n} other images there are not used"),
        }
    }
}

/// The images in `dir` whose names differ only in their number, by number.
#[derive(Debug, Default)]
struct Run {
    files: BTreeMap<u64, PathBuf>,
    /// How many digits the first file's number has, to name the others.
    width: usize,
    /// Two files of the run with one number, when there are.
    duplicate: Option<(u64, PathBuf, PathBuf)>,
}

impl Run {
    /// The image for guide frame `frame_idx` at `offset`.
    fn image_of(&self, frame_idx: u64, offset: i64) -> Option<&PathBuf> {
        let number = frame_idx.checked_add_signed(offset)?;
        self.files.get(&number)
    }
}

/// The name around a run's number: before it, after it, and the extension (lower case).
type RunKey = (String, String, String);

/// One way to pair a folder's images with the guides: a run at an offset, and how many guide
/// frames it has an image for.
#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    key: &'a RunKey,
    run: &'a Run,
    offset: i64,
    num_found: usize,
}

impl Candidate<'_> {
    /// For a message: `ComfyUI_#####_.png from 1`.
    fn describe(&self, first_guide: u64) -> String {
        let pattern = run_pattern(self.key, self.run.width);
        format!("{pattern} from {}", number(first_guide, self.offset))
    }
}

/// The image in `dir` for each of the `guides` (frame indices, ascending), by the number in its file name (the last
/// run of digits: `000042.png`, `frame_42.jpg` and `ComfyUI_00042_.png` are all numbered 42),
/// found as [`Pairing`] says. Of the runs that have an image for every guide frame, one must be
/// the only one, or the only one that starts where the guides start.
pub(super) fn pair_outputs(
    dir: &Path,
    guides: &[u64],
    pairing: &Pairing,
) -> Result<Paired, PairingError> {
    let runs = read_runs(dir)?;
    let wanted_prefix = pairing.prefix.as_deref().map(trim_separators);
    let first_guide = guides.first().copied().unwrap_or(0);
    let offsets = match pairing.offset {
        Some(offset) => vec![offset],
        None => vec![0, 1],
    };
    let candidates: Vec<Candidate> = runs
        .iter()
        .filter(|((head, _, _), _)| {
            wanted_prefix.is_none_or(|prefix| trim_separators(head) == prefix)
        })
        .flat_map(|(key, run)| {
            offsets.iter().map(move |&offset| Candidate {
                key,
                run,
                offset,
                num_found: guides
                    .iter()
                    .filter(|&&frame_idx| run.image_of(frame_idx, offset).is_some())
                    .count(),
            })
        })
        .collect();
    let complete: Vec<Candidate> = candidates
        .iter()
        .filter(|candidate| candidate.num_found == guides.len())
        .copied()
        .collect();
    // A run that starts where the guides start says its own numbering.
    let aligned: Vec<Candidate> = complete
        .iter()
        .filter(|candidate| {
            let first = candidate.run.files.keys().next().copied();
            first.map(i128::from) == Some(number(first_guide, candidate.offset))
        })
        .copied()
        .collect();
    let chosen = match (complete.as_slice(), aligned.as_slice()) {
        ([only], _) | (_, [only]) => *only,
        ([first, second, ..], _) => {
            return Err(PairingError::Ambiguous {
                dir: dir.to_owned(),
                first: first.describe(first_guide),
                second: second.describe(first_guide),
            });
        }
        ([], _) => {
            // The nearest miss, the first of equals: offset 0 before 1.
            let Some(best) = candidates
                .iter()
                .rev()
                .max_by_key(|candidate| candidate.num_found)
            else {
                return Err(PairingError::NoImages {
                    dir: dir.to_owned(),
                    prefix: pairing.prefix.clone(),
                });
            };
            let frame_idx = guides
                .iter()
                .copied()
                .find(|&frame_idx| best.run.image_of(frame_idx, best.offset).is_none())
                .unwrap_or(first_guide);
            let number = number(frame_idx, best.offset);
            return Err(PairingError::Missing {
                dir: dir.to_owned(),
                number,
                name: file_name(best.key, best.run.width, number),
                frame_idx,
                run: best.describe(first_guide),
            });
        }
    };
    if let Some((number, first, second)) = &chosen.run.duplicate {
        return Err(PairingError::Duplicate {
            dir: dir.to_owned(),
            number: *number,
            first: first.clone(),
            second: second.clone(),
        });
    }
    let frames: BTreeMap<u64, PathBuf> = guides
        .iter()
        .filter_map(|&frame_idx| {
            let path = chosen.run.image_of(frame_idx, chosen.offset)?;
            Some((frame_idx, path.clone()))
        })
        .collect();
    let num_images: usize = runs.values().map(|run| run.files.len()).sum();
    Ok(Paired {
        dir: dir.to_owned(),
        num_left_out: num_images - frames.len(),
        frames,
        run: run_pattern(chosen.key, chosen.run.width),
        offset: chosen.offset,
    })
}

/// The number of the image for guide frame `frame_idx` at `offset` (negative: there is none).
fn number(frame_idx: u64, offset: i64) -> i128 {
    i128::from(frame_idx) + i128::from(offset)
}

/// The numbered images of `dir`, in runs.
fn read_runs(dir: &Path) -> Result<BTreeMap<RunKey, Run>, PairingError> {
    let read_error = |source| PairingError::Read {
        dir: dir.to_owned(),
        source,
    };
    let mut runs: BTreeMap<RunKey, Run> = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let Some(extension) = path
            .extension()
            .and_then(|extension| extension.to_str())
            .map(str::to_ascii_lowercase)
            .filter(|extension| IMAGE_EXTENSIONS.contains(&extension.as_str()))
        else {
            continue;
        };
        let Some((head, digits, tail)) = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .and_then(split_number)
        else {
            continue;
        };
        let Ok(number) = digits.parse::<u64>() else {
            continue;
        };
        let run = runs
            .entry((head.to_owned(), tail.to_owned(), extension))
            .or_default();
        if run.files.is_empty() {
            run.width = digits.len();
        }
        if let Some(first) = run.files.insert(number, path.clone())
            && run.duplicate.is_none()
        {
            let (first, second) = if first < path {
                (first, path)
            } else {
                (path, first)
            };
            run.duplicate = Some((number, first, second));
        }
    }
    Ok(runs)
}

/// `text` split around its last run of ASCII digits: before, the digits, after.
fn split_number(text: &str) -> Option<(&str, &str, &str)> {
    let end = text.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = text[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |idx| idx + 1);
    Some((&text[..start], &text[start..end], &text[end..]))
}

/// A run's name before its number without the separators around it: `ComfyUI` for `ComfyUI_`.
fn trim_separators(text: &str) -> &str {
    text.trim_matches(|c: char| matches!(c, '_' | '-' | '.' | ' '))
}

/// The name of image `number` of the run `key`.
fn file_name((head, tail, extension): &RunKey, width: usize, number: i128) -> String {
    format!("{head}{number:0width$}{tail}.{extension}")
}

/// The run's names with `#` for each digit: `ComfyUI_#####_.png`.
fn run_pattern((head, tail, extension): &RunKey, width: usize) -> String {
    format!("{head}{}{tail}.{extension}", "#".repeat(width.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output frames are matched by the number in their names, whatever the tool around it.
    #[test]
    fn split_number_reads_common_frame_names() {
        assert_eq!(split_number("000042"), Some(("", "000042", "")));
        assert_eq!(split_number("frame_42"), Some(("frame_", "42", "")));
        assert_eq!(
            split_number("ComfyUI_00042_"),
            Some(("ComfyUI_", "00042", "_"))
        );
        assert_eq!(split_number("take2_0007"), Some(("take2_", "0007", "")));
        assert_eq!(split_number("cover"), None);
    }

    /// Empty files named `names` in a new folder: pairing reads only the names.
    fn folder_of(names: &[String]) -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        for name in names {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        dir
    }

    fn names(pattern: impl Fn(u64) -> String, numbers: std::ops::Range<u64>) -> Vec<String> {
        numbers.map(pattern).collect()
    }

    /// Guide frames 0–23: ComfyUI's count from 1 is found beside a stray file numbered 0; a run
    /// numbered 0–24 fits at both offsets and starts at 0, so it counts from 0; two runs that
    /// both fit need --prefix; an explicit offset is taken as given.
    #[test]
    fn pairing_finds_the_run_and_its_offset() {
        let guides: Vec<u64> = (0..24).collect();
        let auto = Pairing::default();
        let mut comfy = names(|n| format!("ComfyUI_{n:05}_.png"), 1..25);
        comfy.push("sketch_0.png".to_owned());
        let dir = folder_of(&comfy);
        let paired = pair_outputs(dir.path(), &guides, &auto).unwrap();
        assert_eq!((paired.offset, paired.num_left_out), (1, 1));
        assert!(paired.frames[&0].ends_with("ComfyUI_00001_.png"));

        let dir = folder_of(&names(|n| format!("{n:06}.png"), 0..25));
        let paired = pair_outputs(dir.path(), &guides, &auto).unwrap();
        assert_eq!((paired.offset, paired.num_left_out), (0, 1));

        let mut two_runs = names(|n| format!("ComfyUI_{n:05}_.png"), 1..25);
        two_runs.extend(names(|n| format!("out-{n:04}.jpg"), 0..24));
        let dir = folder_of(&two_runs);
        let error = pair_outputs(dir.path(), &guides, &auto).unwrap_err();
        assert!(matches!(error, PairingError::Ambiguous { .. }), "{error}");
        let out_run = Pairing {
            prefix: Some("out".to_owned()),
            ..Pairing::default()
        };
        let paired = pair_outputs(dir.path(), &guides, &out_run).unwrap();
        assert_eq!(paired.run, "out-####.jpg");

        let later = Pairing {
            offset: Some(5),
            prefix: Some("out-".to_owned()),
        };
        let error = pair_outputs(dir.path(), &guides, &later).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("numbered 24 (out-0024.jpg) for guide frame 19"),
            "{error}"
        );
    }
}
