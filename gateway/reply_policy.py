"""Which notices each channel sends a citizen ([replies.<channel>] notices = [...]).

An SMS costs the agency money and a tweet reply is public, so by default each complaint
gets one SMS or WhatsApp message (the receipt, with our tracking number) and one tweet;
e-mail costs nothing and hears every step. The help text answers an SMS or WhatsApp message
that is not a complaint (a wrong keyword).
"""

from __future__ import annotations

from typing import Literal, get_args

from gateway.config_base import Section

Notice = Literal["receipt", "help", "forwarded", "rejected_by_operator", "resolved"]
ALL_NOTICES: tuple[Notice, ...] = get_args(Notice)


class NoticePolicy(Section):
    """[replies.<channel>]: the notices this channel sends; [] sends none."""

    notices: tuple[Notice, ...]


SMS_DEFAULT = NoticePolicy(notices=("receipt", "help"))
TWITTER_DEFAULT = NoticePolicy(notices=("receipt",))
# A Telegram message costs nothing, but a bot that chats on every step is noise: like SMS.
TELEGRAM_DEFAULT = NoticePolicy(notices=("receipt", "help"))
EMAIL_DEFAULT = NoticePolicy(notices=("receipt", "forwarded", "rejected_by_operator", "resolved"))
# Like SMS: a chat thread is personal, and outside the 24-hour window each reply is a paid
# template message.
WHATSAPP_DEFAULT = NoticePolicy(notices=("receipt", "help"))
