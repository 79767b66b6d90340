/*
 * Test-bench commands, compiled into harness images only (MCU_HARNESS): the product image has none
 * of them. The host (host/mcu/mcu-token.ts) is the board's power supply and its clock's pacer: after
 * power-on the harness waits for FRAME_GO (so the host can load a flash image and set the RTC as the
 * battery-backed board would have kept it), and the clock stands still except while the host lets it
 * run up to a fence (FRAME_ADVANCE). Everything due on the way is delivered exactly as on the board.
 */
#include <string.h>

#include "mcu.h"
#include "nrf51.h"
#include "token.h"

extern Z_token_instance_t *mcu_token(void);

static bool booted;
static bool advancing;
static uint64_t fence;

static bool read_payload(uint8_t type, uint32_t length, uint8_t *into, uint32_t expected) {
  if (length != expected) {
    frame_skip(length);
    frame_refuse(type, FRAME_ERROR_RANGE);
    return false;
  }
  for (uint32_t i = 0; i < length; i++) into[i] = nrf_uart_read();
  return true;
}

static uint64_t get_u64(const uint8_t *at) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; i--) value = (value << 8) | at[i];
  return value;
}

/* Erase the page, then program it from the link as the bytes arrive (no page buffer in RAM). */
static void flash_write(uint32_t length) {
  if (booted || length != 1 + FLASH_PAGE_BYTES) {
    frame_skip(length);
    frame_refuse(FRAME_FLASH_WRITE, booted ? FRAME_ERROR_STATE : FRAME_ERROR_RANGE);
    return;
  }
  uint32_t page = nrf_uart_read();
  if (page >= FLASH_SIZE_BYTES / FLASH_PAGE_BYTES) {
    frame_skip(FLASH_PAGE_BYTES);
    frame_refuse(FRAME_FLASH_WRITE, FRAME_ERROR_RANGE);
    return;
  }
  uint32_t base = (uint32_t)(uintptr_t)(__token_store_start + page * FLASH_PAGE_BYTES);
  nrf_nvmc_erase_page(base);
  for (uint32_t offset = 0; offset < FLASH_PAGE_BYTES; offset += 4) {
    uint32_t word = 0;
    for (uint32_t byte = 0; byte < 4; byte++) word |= (uint32_t)nrf_uart_read() << (8 * byte);
    if (word != 0xffffffffu) nrf_nvmc_write_word(base + offset, word);
  }
  uint8_t status = 0;
  frame_send(FRAME_FLASH_WRITE, &status, 1);
}

static void flash_read(uint32_t length) {
  uint8_t request[4];
  if (!read_payload(FRAME_FLASH_READ, length, request, sizeof request)) return;
  uint32_t offset = request[0] | (uint32_t)request[1] << 8;
  uint32_t count = request[2] | (uint32_t)request[3] << 8;
  if (offset > FLASH_SIZE_BYTES || count > FLASH_SIZE_BYTES - offset) {
    frame_refuse(FRAME_FLASH_READ, FRAME_ERROR_RANGE);
    return;
  }
  frame_send(FRAME_FLASH_READ, __token_store_start + offset, count);
}

/* The display model's size (u16), the display model, the framebuffer: straight from wasm memory. */
static void screen(void) {
  Z_token_instance_t *token = mcu_token();
  uint32_t model = *Z_tokenZ_DISPLAY_MODEL(token), model_size = *Z_tokenZ_DISPLAY_MODEL_SIZ5AE(token);
  uint32_t framebuffer = *Z_tokenZ_FRAMEBUFFER(token), framebuffer_size = *Z_tokenZ_FRAMEBUFFER_SIZ5AE(token);
  uint32_t length = 2 + model_size + framebuffer_size;
  uint8_t header[5] = {FRAME_SCREEN, (uint8_t)length, (uint8_t)(length >> 8), (uint8_t)model_size, (uint8_t)(model_size >> 8)};
  nrf_uart_write(header, sizeof header);
  nrf_uart_write(mcu_memory() + model, model_size);
  nrf_uart_write(mcu_memory() + framebuffer, framebuffer_size);
}

static void put_reading(uint8_t *at, const meter_reading_t *reading) {
  put_u32(at, reading->kind);
  put_u32(at + 4, reading->ticks);
  put_u32(at + 8, reading->random_bytes);
  put_u32(at + 12, reading->erases);
  put_u32(at + 16, reading->words);
  put_u32(at + 20, reading->panel_lines);
  put_u32(at + 24, reading->drawn_ticks);
}

static void meter(void) {
  uint8_t payload[64];
  put_reading(payload, &meter_last);
  put_reading(payload + 28, &meter_boot);
  put_u32(payload + 56, mcu_stack_high_water());
  put_u32(payload + 60, mcu_stack_bytes());
  frame_send(FRAME_METER, payload, sizeof payload);
}

static void advance_reply(void) {
  uint8_t payload[16];
  put_u64(payload, clock_ticks());
  put_u64(payload + 8, (uint64_t)clock_seconds());
  frame_send(FRAME_ADVANCE, payload, sizeof payload);
}

/*
 * FRAME_SCAN: the sensors' comparator outputs, one mask a byte, for the scan mode the firmware is in
 * (the holder started it with button A: FRAME_BUTTON; refused otherwise). The main loop takes each
 * sample at the sampling timer's instant (light.c), as the product image does; only then is the next
 * mask read off the link onto the pins (harness_sample_feed), so the firmware's work per sample and
 * the sleep between samples are the product's; the link's bytes wait in the UART meanwhile. The reply
 * comes when the stream ends or scan mode does (a frame taken or refused, a press, the timeout).
 */
static bool streaming;
static uint32_t stream_left;
static int32_t stream_status;
static uint32_t stream_used, stream_ticks, stream_worst, stream_checksum_failures, stream_last;

static void scan_stream(uint32_t length) {
  if (!booted || !light_scanning() || length == 0) {
    frame_skip(length);
    frame_refuse(FRAME_SCAN, FRAME_ERROR_STATE);
    return;
  }
  streaming = true;
  stream_left = length;
  stream_status = 0;
  stream_used = stream_ticks = stream_worst = stream_checksum_failures = stream_last = 0;
}

bool harness_streaming(void) {
  return streaming;
}

/** At a sample's instant: the stream's next mask onto the pins (the last one stays when it ran out). */
void harness_sample_feed(void) {
  if (!streaming || stream_left == 0) return;
  light_drive(nrf_uart_read());
  stream_left--;
  stream_used++;
}

/** The reply to FRAME_SCAN, with the rest of its stream skipped. */
void harness_stream_stop(void) {
  if (!streaming) return;
  streaming = false;
  frame_skip(stream_left);
  uint8_t payload[24];
  put_u32(payload, (uint32_t)stream_status);
  put_u32(payload + 4, stream_used);
  put_u32(payload + 8, stream_ticks);
  put_u32(payload + 12, stream_worst);
  put_u32(payload + 16, stream_checksum_failures);
  put_u32(payload + 20, stream_last);
  frame_send(FRAME_SCAN, payload, sizeof payload);
}

/** After a sample the stream fed: its cost counted; the reply once a frame ended scan mode or the stream ran out. */
void harness_sample_done(int32_t status) {
  if (!streaming) return;
  stream_status = status;
  if (status != 0 && status != STATUS_BAD_CHECKSUM) {
    stream_last = meter_last.ticks; /* the sample that took the frame: the transfer checked and drawn */
    harness_stream_stop();
    return;
  }
  stream_ticks += meter_last.ticks;
  if (meter_last.ticks > stream_worst) stream_worst = meter_last.ticks;
  if (status == STATUS_BAD_CHECKSUM) stream_checksum_failures++;
  if (stream_left == 0) harness_stream_stop();
}

bool harness_frame(uint8_t type, uint32_t length) {
  uint8_t payload[8];
  switch (type) {
    case FRAME_GO:
      frame_skip(length);
      if (booted) frame_refuse(type, FRAME_ERROR_STATE);
      else booted = true; /* harness_serve_until_go returns; the reply is FRAME_BOOTED */
      return true;
    case FRAME_FLASH_WRITE:
      flash_write(length);
      return true;
    case FRAME_FLASH_READ:
      flash_read(length);
      return true;
    case FRAME_RTC:
      if (!read_payload(type, length, payload, 8)) return true;
      if (booted) {
        frame_refuse(type, FRAME_ERROR_STATE);
        return true;
      }
      clock_set_seconds((int64_t)get_u64(payload));
      frame_send(type, NULL, 0);
      return true;
    case FRAME_BATTERY:
      if (!read_payload(type, length, payload, 2)) return true;
      mcu_battery_millivolts = payload[0] | (uint32_t)payload[1] << 8;
      frame_send(type, NULL, 0);
      return true;
    case FRAME_SCREEN:
      frame_skip(length);
      if (booted) screen();
      else frame_refuse(type, FRAME_ERROR_STATE);
      return true;
    case FRAME_METER:
      frame_skip(length);
      meter();
      return true;
    case FRAME_BUTTON:
      if (!read_payload(type, length, payload, 1)) return true;
      if (!booted) {
        frame_refuse(type, FRAME_ERROR_STATE);
        return true;
      }
      nrf_gpio_button_drive(payload[0] != 0);
      mcu_events(clock_ticks());
      frame_send(type, NULL, 0);
      return true;
    case FRAME_ADVANCE:
      if (!read_payload(type, length, payload, 8)) return true;
      if (!booted) {
        frame_refuse(type, FRAME_ERROR_STATE);
        return true;
      }
      fence = get_u64(payload);
      advancing = true;
      if (fence > clock_ticks()) clock_thaw();
      return true; /* the reply comes from harness_step when the clock is there */
    case FRAME_SCAN:
      scan_stream(length);
      return true;
    case FRAME_FAULT:
      frame_skip(length);
      wasm_rt_trap(WASM_RT_TRAP_OOB);
    default:
      return false;
  }
}

/* After power-on: serve the host until it says go. After a fault the board boots at once. */
void harness_power_on(bool after_fault) {
  if (after_fault) {
    booted = true;
    return;
  }
  while (!booted) {
    uint8_t type = nrf_uart_read();
    uint32_t length = nrf_uart_read();
    length |= (uint32_t)nrf_uart_read() << 8;
    if (type == FRAME_LINK || !harness_frame(type, length)) {
      frame_skip(length);
      frame_refuse(type, type == FRAME_LINK ? FRAME_ERROR_STATE : FRAME_ERROR_UNKNOWN);
    }
  }
}

/*
 * Called by the main loop once everything due at `now` is delivered. At the fence: stop the clock
 * there and answer the host. Returns true when it did something (the loop looks again).
 */
bool harness_step(uint64_t now) {
  if (!advancing || now < fence) return false;
  clock_freeze(fence);
  advancing = false;
  advance_reply();
  return true;
}

/** The fence, while the host lets the clock run; otherwise no deadline (the clock is frozen anyway). */
uint64_t harness_deadline(void) {
  return advancing ? fence : UINT64_MAX;
}
