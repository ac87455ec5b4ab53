/** A Telegram user as updates carry it. */
export type TelegramUser = { id: number; is_bot: boolean; first_name: string; username: string };

let updateId = 1;

/** A fresh update id (they count up per process, as Telegram's do per bot). */
export const nextUpdateId = () => updateId++;

/** A private text message from `from`, as the Bot API delivers it; update ids count up per process. */
export const textUpdate = (from: TelegramUser, text: string, update_id = nextUpdateId()) => ({
  update_id,
  message: {
    message_id: update_id,
    date: Math.floor(Date.now() / 1000),
    chat: { id: from.id, type: "private", first_name: from.first_name },
    from,
    text,
  },
});

/** A press on an inline keyboard button carrying `data`, on `message` (by default one in `from`'s own chat). */
export const pressUpdate = (
  from: TelegramUser,
  data: string,
  message: { message_id: number; text: string; chatId: number } = { message_id: 1, text: "x", chatId: from.id },
) => ({
  update_id: nextUpdateId(),
  callback_query: {
    id: `cq${updateId}`,
    from,
    chat_instance: "ci",
    data,
    message: {
      message_id: message.message_id,
      date: 0,
      chat: { id: message.chatId, type: "private" },
      text: message.text,
    },
  },
});
