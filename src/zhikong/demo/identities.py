"""Synthetic identities for demo residents: names, resident ID numbers, phone numbers (pure).

Every value is made up. ID numbers are well-formed (county code, birth date, sequence and
the ISO 7064 MOD 11-2 check digit) so that the platform's validation accepts them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from zhikong.residents.identity import resident_id_check_digit

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方邹孟熊秦邱江尹薛闫段雷侯龙"
    "史陶黎贺顾毛郝龚邵万钱严"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏飞浩宇轩"
    "然子涵欣怡梓萱晨阳俊杰思远雨桐佳琪一诺"
)


@dataclass(frozen=True)
class SyntheticIdentity:
    """A made-up identity for one demo resident."""

    name: str
    id_number: str
    phone: str


def synthetic_identity(
    rng: random.Random, county_code: str, sex: str, born: date
) -> SyntheticIdentity:
    """A made-up name, a well-formed resident ID for the county and birth date, and a phone."""
    surname = rng.choice(SURNAMES)
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    sequence = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)  # odd = male (GB 11643)
    first17 = f"{county_code[:6]}{born:%Y%m%d}{sequence:03d}"
    phone = (
        rng.choice(("138", "139", "150", "158", "177", "186", "189"))
        + f"{rng.randrange(10**8):08d}"
    )
    return SyntheticIdentity(surname + given, first17 + resident_id_check_digit(first17), phone)
