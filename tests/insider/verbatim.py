"""Insider's upsert examples, verbatim from insider-api.md §10 ([PM] Postman collection).

Copied character for character (the request body of A is the ``--data-raw`` part of the curl
command). ``test_examples.py`` also checks them against the reference file when it is present.
"""

from __future__ import annotations

EXAMPLE_A_BODY = """{
  "skip_hook": false,
  "users": [
    {
      "identifiers": {
        "email": "sample@useinsider.com",
        "uuid": "1x2y3z",
        "custom": {
          "user_loyalty_id": "xyz123"
        }
      },
      "attributes": {
        "email_optin": true,
        "age": 30,
        "language": "en_US",
        "static_segment_id": [
          1,
          2
        ],
        "birthday": "1980-01-01T00:00:00Z",
        "custom": {
          "favorite_color": [
            "green"
          ]
        }
      },
      "events": [
        {
          "event_name": "purchase",
          "timestamp": "2021-01-10T21:35:20Z",
          "event_params": {
            "product_id": "ABC21000",
            "name": "Your Product Name",
            "unit_price": 990.9,
            "unit_sale_price": 890.9,
            "event_group_id": "ORDER123",
            "taxonomy": [
              "Electronic",
              "Phone"
            ],
            "currency": "USD",
            "quantity": 1
          }
        },
        {
          "event_name": "account_created",
          "timestamp": "2021-01-17T14:41:21+03:00",
          "event_params": {
            "custom": {
              "customer_type": "trial",
              "trial_start_date": "2021-01-17T14:39:21+03:00",
              "trial_end_date": "2021-01-24T14:41:21+03:00"
            }
          }
        }
      ]
    }
  ]
}"""

# B abbreviates its events ("same two events as A"): tests fill them in from A.
EXAMPLE_B = """{
  "skip_hook": false,
  "error_callback_endpoint":"http://your-error-callback-endpoint.yourdomain.com",
  "users": [
    {
      "insider_id": "sampleinsiderid",
      "attributes": {
        "email_optin": true,
        "age": 30,
        "language": "en_US",
        "list_id": [
          1,
          2
        ],
        "birthday": "1980-01-01T00:00:00Z",
        "custom": {
          "favorite_color": [
            "green"
          ]
        }
      },
      "not_append": true,
      "events": [ … same two events as A … ]
    }
  ]
}"""

EXAMPLE_C = """{
    "users": [
        {
            "identifiers": {
                "email": "insideracademy@mail.com"
            },
            "attributes": {
                "gdpr_optin": true,
                "name": "Insider Academy",
                "sms_optin": true,
                "phone_number": "+6512345678",
                "custom": {
                    "loyalty": "Gold",
                    "subscription_renewal": "2023-11-29T23:00:00Z"
                }
            }
        }
    ]
}"""

EXAMPLE_D = """{
    "users": [
        {
            "identifiers": {
                "uuid": "16378438264380b02b2ed96"
            },
            "attributes": {
                "gdpr_optin": true,
                "email": "insideracademy@useinsider.com",
                "phone_number": "+6512345678"
            }
        }
    ]
}"""

EXAMPLE_E = """{
    "users": [
        {
            "identifiers": {
                "uuid": "16378438264380b02b2ed96"
            },
            "attributes": {
                "email":"insideracademy@useinsider.com",
                "birthday": "1990-01-01T00:00:00Z"
            },
            "events": [
                {
                    "event_name": "form_submission",
                    "timestamp": "2023-01-10T21:35:20Z",
                    "event_params": {
                        "url": "https://academy.useinsider.com/",
                        "custom": {
                            "form_subject": "Test Drive"
                        }
                    }
                }
            ]
        }
    ]
}"""

EXAMPLE_F = """{
  "users": [
    {
      "identifiers": {
        "email": "insideracademy@useinsider.com"
      },
      "attributes": {
        "gdpr_optin": true,
        "email_optin": true,
        "phone_number": "+6512345678",
        "sms_optin": true,
        "age": 30,
        "birthday": "1980-01-01T00:00:00Z",
        "custom": {
          "member_status": "VIP"
        }
      },
      "events": [
        {
          "event_name": "purchase",
          "timestamp": "2023-03-10T21:35:20Z",
          "event_params": {
            "product_id": "AGH210070",
            "unit_price": 990.9,
            "unit_sale_price": 890.9,
            "event_group_id": "ORDER123",
            "taxonomy": [
              "Electronic",
              "Phone"
            ],
            "currency": "USD"
          }
        },
        {
          "event_name": "form_submitted",
          "timestamp": "2023-03-17T14:41:21+03:00",
          "event_params": {
            "custom": {
              "customer_type": "trial",
              "trial_start_date": "2023-03-17T14:39:21+03:00",
              "trial_end_date": "2023-03-24T14:41:21+03:00"
            }
          }
        }
      ]
    },
    {
      "identifiers": {
        "custom": {
          "user_loyalty_id": "user12345abc"
        }
      },
      "attributes": {
        "gdpr_optin": true,
        "email": "jsmith@mail.com",
        "email_optin": true
      },
      "events": [
        {
          "event_name": "order_delivered",
          "timestamp": "2023-03-10T21:35:20Z",
          "event_params": {
            "custom": {
              "order_id": "POSH1234"
            }
          }
        }
      ]
    }
  ]
}"""
