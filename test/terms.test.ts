import { describe, expect, it } from "vitest";
import { bankDateTime, mailFilterNote, TERMS } from "../host/terms.js";

describe("the bank's words", () => {
  it("prints the screen's date and time in Japan time, as the manual does", () => {
    // The manual's issue screen shows "2021年05月20日 17時27分40秒": 08:27:40 UTC.
    expect(bankDateTime(Date.UTC(2021, 4, 20, 8, 27, 40) / 1000)).toBe("2021年05月20日 17時27分40秒");
    // Past midnight in Japan while still the previous day in UTC.
    expect(bankDateTime(Date.UTC(2021, 11, 31, 15, 0, 0) / 1000)).toBe("2022年01月01日 00時00分00秒");
  });

  it("names the bank's sending domain in the mail-filter note", () => {
    expect(mailFilterNote("otp-auth.net").ja).toBe("送信メールフィルタ等で送信メール対策をしている方は、「otp-auth.net」を解除設定してご利用ください。");
  });

  it("uses the manual's spelling of the terms", () => {
    expect(TERMS.activationPassword.ja).toBe("利用開始パスワード");
    expect(TERMS.userId.ja).toBe("ユーザID");
    expect(TERMS.confirmButton.ja).toBe("認証確認");
  });
});
