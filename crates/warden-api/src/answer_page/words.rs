//! The answer page's words, English and Chinese.

use serde::Serialize;
use warden_core::{Answer, Lang};

/// Every fixed text of the page in one language.
#[derive(Debug, Serialize)]
pub struct Words {
    pub code: &'static str,
    pub html_lang: &'static str,
    pub language: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub when: &'static str,
    pub r#where: &'static str,
    pub address: &'static str,
    pub network: &'static str,
    pub device: &'static str,
    pub client: &'static str,
    pub protocol: &'static str,
    pub geo_by: &'static str,
    pub question: &'static str,
    pub comment: &'static str,
    pub confirm_note: &'static str,
    pub confirm: &'static str,
    pub thanks: &'static str,
}

pub const EN: Words = Words {
    code: "en",
    html_lang: "en",
    language: "Language",
    title: "Was this you?",
    intro: "Someone signed in to your account as shown below. Tell us whether it was you.",
    when: "When",
    r#where: "Where",
    address: "Address",
    network: "Network",
    device: "Device",
    client: "Program",
    protocol: "Protocol",
    geo_by: "IP geolocation by",
    question: "Your answer",
    comment: "Where were you? (optional, for \"the location is wrong\")",
    confirm_note: "Nothing happens until you press the button.",
    confirm: "Confirm my answer",
    thanks: "Thank you — your answer is recorded",
};

pub const ZH: Words = Words {
    code: "zh",
    html_lang: "zh-CN",
    language: "语言",
    title: "这是您本人的登录吗？",
    intro: "您的账号有一次如下所示的登录。请告诉我们这是否是您本人。",
    when: "时间",
    r#where: "地点",
    address: "地址",
    network: "网络",
    device: "设备",
    client: "客户端",
    protocol: "协议",
    geo_by: "IP 地理位置数据来自",
    question: "您的回答",
    comment: "您当时在哪里？（可选，用于“位置不对”）",
    confirm_note: "点击按钮之前不会执行任何操作。",
    confirm: "确认我的回答",
    thanks: "谢谢，您的回答已记录",
};

pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// The label of a choice.
pub fn choice(lang: Lang, a: Answer) -> &'static str {
    match (lang, a) {
        (Lang::En, Answer::ItWasMe) => "Yes, it was me",
        (Lang::En, Answer::NotMe) => "No, it wasn't me",
        (Lang::En, Answer::WrongLocation) => "It was me, but the location is wrong",
        (Lang::Zh, Answer::ItWasMe) => "是的，是我本人",
        (Lang::Zh, Answer::NotMe) => "不是我",
        (Lang::Zh, Answer::WrongLocation) => "是我，但显示的位置不对",
    }
}

/// What an answer did, line by line.
pub struct Done {
    pub answer: Answer,
    pub cut_off: bool,
    pub blocked: Option<String>,
    pub queued: bool,
}

pub fn done(lang: Lang, d: &Done) -> Vec<String> {
    let en = lang == Lang::En;
    let mut out = Vec::new();
    match d.answer {
        Answer::ItWasMe => out.push(if en {
            "The alert is closed. Logins from this place and device will no longer be flagged."
                .into()
        } else {
            "提醒已关闭。以后从该地点和设备登录将不再提醒。".into()
        }),
        Answer::NotMe => {
            if d.cut_off {
                out.push(if en {
                    "Every web session and authorization code of your account has been revoked."
                        .into()
                } else {
                    "已注销您账号的全部网页会话，并吊销全部授权码。".into()
                });
                out.push(if en {
                    "You must choose a new password at your next login.".into()
                } else {
                    "下次登录时必须设置新密码。".into()
                });
            }
            if let Some(n) = &d.blocked {
                out.push(if en {
                    format!("Logins to your account from {n} are now refused.")
                } else {
                    format!("已禁止来自 {n} 的登录访问您的账号。")
                });
            }
            out.push(if en {
                "Your administrators have been alerted.".into()
            } else {
                "已通知管理员。".into()
            });
        }
        Answer::WrongLocation => out.push(if d.queued {
            if en {
                "Your administrators will check where this address is placed.".into()
            } else {
                "管理员将核实该地址的地理位置。".into()
            }
        } else if en {
            "Thank you for telling us.".into()
        } else {
            "感谢您的反馈。".into()
        }),
    }
    out
}

/// The heading and message of a refused page.
pub fn refusal(lang: Lang, code: &str) -> (&'static str, &'static str) {
    let en = lang == Lang::En;
    match code {
        "link_expired" => {
            if en {
                ("This link has expired", "Links in alerts work for a limited time. If you do not recognise the login, change your password and contact your administrator.")
            } else {
                ("链接已过期", "提醒中的链接仅在有限时间内有效。如果您不认识这次登录，请修改密码并联系管理员。")
            }
        }
        "already_answered" => {
            if en {
                ("This alert was already answered", "Each link can be used once. Nothing was changed. If you did not answer it, contact your administrator.")
            } else {
                (
                    "该提醒已回答过",
                    "每个链接只能使用一次，本次没有做任何更改。如果不是您回答的，请联系管理员。",
                )
            }
        }
        "not_answerable" => {
            if en {
                ("This alert takes no answer", "Nothing was changed.")
            } else {
                ("该提醒无需回答", "没有做任何更改。")
            }
        }
        "bad_form" => {
            if en {
                ("The answer could not be read", "Please open the link from the alert again and choose one answer. Nothing was changed.")
            } else {
                (
                    "无法读取您的回答",
                    "请重新打开提醒中的链接并选择一个回答。没有做任何更改。",
                )
            }
        }
        "unavailable" => {
            if en {
                (
                    "Warden is unavailable",
                    "Please try again in a moment. Nothing was changed.",
                )
            } else {
                ("服务暂时不可用", "请稍后重试。没有做任何更改。")
            }
        }
        _ => {
            if en {
                (
                    "This link is not valid",
                    "Please open the link exactly as it appears in the alert. Nothing was changed.",
                )
            } else {
                ("链接无效", "请完整打开提醒中的链接。没有做任何更改。")
            }
        }
    }
}
