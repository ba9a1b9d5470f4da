//! Keywords and sentiment of feedback text, English and Chinese.
//!
//! Method:
//! - Tokens come from the jieba segmenter (its dictionary plus HMM for
//!   unknown Chinese words; runs of Latin letters and digits stay whole).
//!   English tokens are lower-cased.
//! - Keywords are jieba's TF-IDF extraction (its IDF table for Chinese,
//!   the median IDF for unknown words such as English ones; stop words and
//!   one-character tokens dropped), the top [`KEYWORDS`].
//! - Sentiment is lexicon based: each token found in the positive or
//!   negative list below scores +1 or −1, doubled after an intensifier
//!   ("very", "非常") and flipped after a negator ("not", "不") within the
//!   two tokens before it. The sum `s` is squashed to `s / sqrt(s² + 15)`,
//!   the normalisation VADER uses, so the score lies in (−1, 1) and a text
//!   with no opinion words scores 0.

use std::sync::LazyLock;

use jieba_rs::{Jieba, KeywordExtract, KeywordExtractConfig, TfIdf};

/// Keywords kept per text.
pub const KEYWORDS: usize = 8;

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);
static TFIDF: LazyLock<TfIdf> = LazyLock::new(|| {
    let mut tfidf = TfIdf::default();
    *tfidf.config_mut() = STOP_WORDS
        .iter()
        .fold(KeywordExtractConfig::builder().use_hmm(true), |b, w| {
            b.add_stop_word(*w)
        })
        .build();
    tfidf
});

/// English function words, on top of jieba's own stop list.
const STOP_WORDS: &[&str] = &[
    "was", "were", "been", "being", "am", "do", "does", "did", "done", "my", "me", "our", "us", "your", "yours", "he",
    "she", "him", "her", "his", "they", "them", "their", "its", "i'm", "i've", "it's", "there", "here", "what", "when",
    "where", "who", "why", "how", "so", "but", "no", "yes", "just", "only", "also", "too", "very", "really", "than",
    "about", "into", "over", "after", "before", "again", "still", "would", "could", "should", "will", "shall", "may",
    "might", "must", "had", "got", "get", "some", "any", "more", "most", "other", "such", "these", "those", "out",
    "up", "down", "off", "now", "please", "thanks", "thank", "hi", "hello", "dear", "的", "了", "是", "我", "你", "他",
    "她", "也", "都", "就", "在", "和", "还", "又", "吗", "呢", "吧", "啊",
];

const POSITIVE: &[&str] = &[
    "good",
    "great",
    "excellent",
    "amazing",
    "awesome",
    "love",
    "loved",
    "like",
    "happy",
    "pleased",
    "satisfied",
    "helpful",
    "friendly",
    "fast",
    "quick",
    "easy",
    "perfect",
    "thanks",
    "thank",
    "recommend",
    "best",
    "nice",
    "wonderful",
    "fantastic",
    "polite",
    "resolved",
    "works",
    "好",
    "很好",
    "满意",
    "喜欢",
    "优秀",
    "棒",
    "赞",
    "感谢",
    "谢谢",
    "快",
    "方便",
    "专业",
    "热情",
    "推荐",
    "完美",
    "开心",
    "不错",
    "耐心",
    "及时",
];
const NEGATIVE: &[&str] = &[
    "bad",
    "terrible",
    "awful",
    "horrible",
    "worst",
    "hate",
    "angry",
    "disappointed",
    "disappointing",
    "slow",
    "broken",
    "rude",
    "late",
    "delay",
    "delayed",
    "wrong",
    "poor",
    "useless",
    "unhappy",
    "frustrated",
    "frustrating",
    "problem",
    "issue",
    "fail",
    "failed",
    "refund",
    "complaint",
    "dirty",
    "expensive",
    "差",
    "很差",
    "糟糕",
    "失望",
    "生气",
    "愤怒",
    "慢",
    "坏",
    "破损",
    "损坏",
    "问题",
    "投诉",
    "退款",
    "不满",
    "不满意",
    "不好",
    "不行",
    "太慢",
    "垃圾",
    "延迟",
    "错误",
    "恶劣",
    "粗鲁",
    "欺骗",
    "麻烦",
    "贵",
];
const NEGATORS: &[&str] = &[
    "not", "no", "don't", "didn't", "doesn't", "isn't", "wasn't", "never", "hardly", "不", "没", "没有", "别", "未",
    "无",
];
const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "extremely",
    "so",
    "too",
    "super",
    "非常",
    "很",
    "太",
    "特别",
    "十分",
    "极其",
];

/// What the text says, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub keywords: Vec<String>,
    /// −1 (negative) to 1 (positive).
    pub sentiment: f64,
}

/// The word tokens of a text (no spaces or punctuation), English lower-cased.
pub fn tokens(text: &str) -> Vec<String> {
    JIEBA
        .cut(text, true)
        .into_iter()
        .map(|t| t.word)
        .filter(|t| t.chars().any(char::is_alphanumeric) || is_contraction(t))
        .map(str::to_lowercase)
        .collect()
}

fn is_contraction(t: &str) -> bool {
    t.contains('\'') && t.chars().any(char::is_alphabetic)
}

/// The sentiment of a token sequence, as described in the module docs.
pub fn sentiment(tokens: &[String]) -> f64 {
    let mut sum = 0.0_f64;
    for (i, t) in tokens.iter().enumerate() {
        let polarity = if POSITIVE.contains(&t.as_str()) {
            1.0
        } else if NEGATIVE.contains(&t.as_str()) {
            -1.0
        } else {
            continue;
        };
        let before = &tokens[i.saturating_sub(2)..i];
        let mut score = polarity;
        if before.iter().any(|b| INTENSIFIERS.contains(&b.as_str())) {
            score *= 2.0;
        }
        if before.iter().any(|b| NEGATORS.contains(&b.as_str())) {
            score = -score;
        }
        sum += score;
    }
    sum / (sum * sum + 15.0).sqrt()
}

static PERSONAL: LazyLock<regex_lite::Regex> = LazyLock::new(|| {
    // E-mail addresses, URLs, phone numbers (digits with separators) and
    // runs of five or more digits (account, card, order numbers).
    regex_lite::Regex::new(r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+|\b(?:https?://|www\.)\S+|\+?\d[\d ().-]{5,}\d|\d{5,}")
        .unwrap_or_else(|_| unreachable!("constant pattern"))
});

/// The text with personal data blanked out: e-mail addresses, URLs, phone
/// numbers, long digit runs, and the given name tokens (the customer's own
/// name; whole words for Latin script, anywhere for Chinese).
pub fn redact(text: &str, names: &[&str]) -> String {
    let mut out = PERSONAL.replace_all(text, " ").into_owned();
    for name in names.iter().flat_map(|n| n.split_whitespace()) {
        if name.chars().count() < 2 {
            continue;
        }
        let lower = name.to_lowercase();
        let cjk = !name.is_ascii();
        let mut kept = String::with_capacity(out.len());
        let hay = out.to_lowercase();
        // Lower-casing can change byte lengths outside ASCII; match on the
        // lower-cased copy only when the lengths agree.
        if hay.len() != out.len() {
            continue;
        }
        let mut last = 0;
        for (at, _) in hay.match_indices(&lower) {
            let end = at + lower.len();
            let bounded = cjk
                || (!hay[..at].chars().next_back().is_some_and(char::is_alphanumeric)
                    && !hay[end..].chars().next().is_some_and(char::is_alphanumeric));
            if bounded && at >= last {
                kept.push_str(&out[last..at]);
                kept.push(' ');
                last = end;
            }
        }
        kept.push_str(&out[last..]);
        out = kept;
    }
    out
}

/// Keywords and sentiment of a text, after [`redact`] with `names`.
pub fn analyse(text: &str, names: &[&str]) -> Analysis {
    let text = &redact(text, names);
    let keywords = TFIDF
        .extract_keywords(&JIEBA, text, KEYWORDS * 2, Vec::new())
        .into_iter()
        .map(|k| k.keyword.to_lowercase())
        .filter(|k| k.chars().count() > 1 && !NEGATORS.contains(&k.as_str()))
        .fold(Vec::<String>::new(), |mut acc, k| {
            if !acc.contains(&k) && acc.len() < KEYWORDS {
                acc.push(k);
            }
            acc
        });
    // Rounded so the stored value reads the same on every database.
    let score = (sentiment(&tokens(text)) * 1000.0).round() / 1000.0;
    Analysis {
        keywords,
        sentiment: score,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn personal_data_never_becomes_a_keyword() {
        let text = "Zacharias Quimby here, call 555-123-4567 or 5551234567, mail zacharias.quimby@example.com, \
                    see https://example.com/x?id=99 — order 12345678 arrived broken, refund please";
        let keywords = super::analyse(text, &["Zacharias Quimby"]).keywords;
        for k in &keywords {
            assert!(!k.contains("zacharias") && !k.contains("quimby"), "{keywords:?}");
            assert!(!k.chars().any(|c| c.is_ascii_digit()), "{keywords:?}");
            assert!(!k.contains("example"), "{keywords:?}");
        }
        assert!(keywords.iter().any(|k| k == "refund" || k == "broken"), "{keywords:?}");
        assert_eq!(super::redact("王小明的订单", &["王小明"]).trim(), "的订单");
    }

    use super::*;

    #[test]
    fn chinese_text_is_segmented_into_words() {
        let t = tokens("我对快递服务非常不满意");
        assert!(t.contains(&"快递".to_owned()), "{t:?}");
        assert!(t.contains(&"服务".to_owned()), "{t:?}");
    }

    #[test]
    fn sentiment_reads_polarity_negation_and_intensity_in_both_languages() {
        let s = |text: &str| analyse(text, &[]).sentiment;
        assert!(s("The staff were very friendly and helpful, thanks!") > 0.5);
        assert!(s("Terrible service, the parcel was late and broken") < -0.5);
        assert!(s("The app is not good") < 0.0, "negation flips");
        assert!(s("very good") > s("good"), "intensifier strengthens");
        assert!(s("服务很好，非常满意") > 0.3);
        assert!(s("快递太慢了，包装也破损了，很失望") < -0.3);
        assert!(s("东西不好") < 0.0, "Chinese negation flips");
        assert!(s("The order number is 12345").abs() < f64::EPSILON, "no opinion words");
    }

    #[test]
    fn keywords_come_from_the_text_without_stop_words() {
        let a = analyse(
            "The delivery driver left the parcel in the rain and the parcel was soaked",
            &[],
        );
        assert!(a.keywords.contains(&"parcel".to_owned()), "{:?}", a.keywords);
        assert!(!a.keywords.contains(&"the".to_owned()), "{:?}", a.keywords);
        let zh = analyse("退款申请提交三次都没有处理，客服电话也打不通", &[]);
        assert!(
            zh.keywords.iter().any(|k| k == "退款" || k == "客服"),
            "{:?}",
            zh.keywords
        );
        assert!(zh.keywords.len() <= KEYWORDS);
    }
}
